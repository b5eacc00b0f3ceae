//! The interpreter and the JIT agree: on the seed examples and their `test` blocks, on the
//! standard library, and on random programs over random packet sequences.

mod examples;
mod guarded_arms;
mod harness;
mod packets;
mod payload_bounds;
mod percentile_sketch;
mod program_gen;
mod random_programs;
