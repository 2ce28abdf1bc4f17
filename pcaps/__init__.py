"""Writing captures: the one packet and capture writer of the demo world (make_demo.py), the bench
capture (bench/gen_capture.py) and the tests.

Why a package of its own beside the demo capture, not in agent/: the agent only reads captures;
writing them is tooling, and the captures a test reads must not be made by the code it tests.
Nothing under agent/ imports it, and it is not installed.

    capfile.py       pcap and pcapng files (record layouts as numpy dtypes: one packet or millions)
    frames.py        Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, ICMP and ARP with correct checksums
    conversation.py  peers on a link and timed TCP conversations, for stories told packet by packet
    messages.py      TLS records and hellos, DNS messages, QUIC Initial and Handshake packets
"""
