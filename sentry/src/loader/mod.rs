//! Program loading: ELF images, `#!` scripts and the initial stack.

mod elf;
mod stack;

pub use elf::exec;
