"""What an analysis found, and its written forms: verdicts counted (`tally`, `access`), the
`Analysis` record, the JSON document (`document`), the headline sentence, the terminal text and
the dating of the range versions. Pure: no files, no clocks."""
