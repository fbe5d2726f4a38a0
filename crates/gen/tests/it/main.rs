//! The integration tests of dancu-gen, in one binary.

mod duplicates;
mod generate;
mod sector;
