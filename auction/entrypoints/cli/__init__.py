"""The command line's parts: argparse that speaks Chinese first, the committee members' tools."""
