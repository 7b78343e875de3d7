//! Privacy masks in recordings (property 5): the camera's polygons, burned into the picture
//! before it is encoded, so that no recorded, streamed or exported file holds the masked
//! pixels.

pub mod burn;

pub use burn::{BLOCK_PX, BurnPlan, Rect};
