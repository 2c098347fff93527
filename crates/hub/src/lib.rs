//! ringside-hub library: config, server, demo.
