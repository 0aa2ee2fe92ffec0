"""The command line (`python -m nncore`): train, bench, gradcheck, lessons, search, inspect, export."""
