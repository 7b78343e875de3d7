//! Shared helpers: a generated city in a fresh temporary folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use vigie_flows::generate::{GenerateConfig, GenerateReport, generate};

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vigie-flows-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn small(devices: usize, cells: usize) -> GenerateConfig {
    GenerateConfig { devices, cells, threads: 2, seed: 5, ..GenerateConfig::default() }
}

pub fn make(dir: &Path, cfg: &GenerateConfig) -> GenerateReport {
    generate(cfg, dir).unwrap()
}
