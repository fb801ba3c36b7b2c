"""Where the capabilities meet: offerings, the primary sale, distributions and the market, in wings over
a holdings ledger (see tokens/ledger.py and each wing's __init__)."""
