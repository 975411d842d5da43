"""The serving benchmark of issue 9 (`bench/serve.py` is its command line), one topic per module:

    common.py          paths, labels, small helpers
    sentences.py       the 512 deterministic input sentences
    servers.py         how the platform is started (the SERVERS table) and stopped
    clients.py         the closed-loop async load and the CPU sampling around it
    profiling.py       py-spy profiles of the server during an extra pass
    configs.py         (a) raw, (p) peer, and the platform configurations
    platform_setup.py  the platform's database, users, keys, apps and versions (a subprocess)
    report.py          the targets and the table
"""
