"""Process plumbing: streams, bounded files, batch files, the warm worker and its pool. Standard library only."""
