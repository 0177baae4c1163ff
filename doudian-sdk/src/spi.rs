//! SPI calls from the platform to the app: verify and reply (PROTOCOL.md §7).
