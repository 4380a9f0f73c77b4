//! Built-in type OIDs. PLACEHOLDER: being written with the value module.
