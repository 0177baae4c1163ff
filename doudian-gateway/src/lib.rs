//! The bundled gateway.
