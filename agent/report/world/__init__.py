"""The world map's data: outline.json and places.csv, made by make.py (see SOURCES.md)."""
