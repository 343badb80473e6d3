"""The ``imshare`` command line: parsing, commands and output formats. Never imports Textual."""
