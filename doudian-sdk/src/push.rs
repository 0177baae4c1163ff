//! Push messages (webhooks): verify, parse, reply (PROTOCOL.md §6).
