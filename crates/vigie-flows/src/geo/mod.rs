//! Plane geometry for mapping cells to zones: a local metric frame, convex clipping and
//! areas, and the Voronoi cells of antenna sites split into sectors.

pub mod frame;
pub mod polygon;
pub mod voronoi;

pub use frame::Frame;
pub use polygon::{Pt, Ring};
