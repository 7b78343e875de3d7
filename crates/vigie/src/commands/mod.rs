pub mod audio;
pub mod audit;
pub mod bench;
pub mod config;
pub mod publish;
pub mod up;
