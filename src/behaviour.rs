#![doc = include_str!("../docs/behaviour.md")]
