"""`make docs` generators; never imported by the library."""
