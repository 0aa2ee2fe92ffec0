"""Per-browser-session state, the live loop (Play/Pause/Step/Reset) and the server's training gate."""
