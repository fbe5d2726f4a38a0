//! The integration tests of dancu-matching, in one binary: end to end on generated data,
//! and on data the matcher was not built for (the independent error model, FEBRL).

mod end_to_end;
mod independent;
