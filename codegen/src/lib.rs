//! Spec -> Rust code generator.
