//! Watermarking images for an export: the export id burned in, as a solid band along the
//! bottom and as a light pattern across the whole picture, so that a copy of any part of
//! it names the export it came from. Out as JPEG.

use super::font;

/// An image as 8-bit RGB.
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Rgb {
    fn blend(&mut self, x: usize, y: usize, color: [u8; 3], alpha: f32) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = (y * self.width + x) * 3;
        for (k, c) in color.iter().enumerate() {
            let p = &mut self.pixels[i + k];
            *p = (f32::from(*p) * (1.0 - alpha) + f32::from(*c) * alpha).round() as u8;
        }
    }
}

/// The largest picture decoded (a few kilobytes can declare a gigapixel image).
pub const MAX_PIXELS: u64 = 40_000_000;

fn check_size(w: u64, h: u64) -> Result<(), String> {
    if w == 0 || h == 0 || w * h > MAX_PIXELS {
        return Err(format!("{w}×{h} pixels (at most {MAX_PIXELS} pixels)"));
    }
    Ok(())
}

/// An image's width and height from its header, without decoding it.
pub fn dimensions(media_type: &str, bytes: &[u8]) -> Result<(u64, u64), String> {
    match media_type {
        "image/jpeg" => {
            let mut d = jpeg_decoder::Decoder::new(bytes);
            d.read_info().map_err(|e| format!("JPEG: {e}"))?;
            let info = d.info().ok_or("JPEG without a frame")?;
            Ok((u64::from(info.width), u64::from(info.height)))
        }
        "image/png" => {
            let reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().map_err(|e| format!("PNG: {e}"))?;
            let info = reader.info();
            Ok((u64::from(info.width), u64::from(info.height)))
        }
        other => Err(format!("{other} is not an image")),
    }
}

/// Decodes a JPEG or PNG into RGB, refusing pictures over [`MAX_PIXELS`] before any
/// buffer is allocated for them.
pub fn decode(media_type: &str, bytes: &[u8]) -> Result<Rgb, String> {
    let (w, h) = dimensions(media_type, bytes)?;
    check_size(w, h)?;
    match media_type {
        "image/jpeg" => {
            let mut d = jpeg_decoder::Decoder::new(bytes);
            d.set_max_decoding_buffer_size((MAX_PIXELS * 4) as usize);
            let pixels = d.decode().map_err(|e| format!("JPEG: {e}"))?;
            let info = d.info().ok_or("JPEG without a frame")?;
            let (w, h) = (usize::from(info.width), usize::from(info.height));
            let rgb = match info.pixel_format {
                jpeg_decoder::PixelFormat::RGB24 => pixels,
                jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|v| [*v; 3]).collect(),
                jpeg_decoder::PixelFormat::L16 => pixels.chunks(2).flat_map(|v| [v[0]; 3]).collect(),
                jpeg_decoder::PixelFormat::CMYK32 => pixels
                    .chunks(4)
                    .flat_map(|p| {
                        let k = f32::from(p[3]) / 255.0;
                        [0, 1, 2].map(|i| (f32::from(p[i]) * k) as u8)
                    })
                    .collect(),
            };
            Ok(Rgb { width: w, height: h, pixels: rgb })
        }
        "image/png" => {
            let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
            d.set_transformations(png::Transformations::normalize_to_color8());
            let mut reader = d.read_info().map_err(|e| format!("PNG: {e}"))?;
            let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
            let frame = reader.next_frame(&mut buf).map_err(|e| format!("PNG: {e}"))?;
            let (w, h) = (frame.width as usize, frame.height as usize);
            let data = &buf[..frame.buffer_size()];
            let rgb = match frame.color_type {
                png::ColorType::Rgb => data.to_vec(),
                // Transparent pixels over black: what a viewer without alpha would show.
                png::ColorType::Rgba => {
                    data.chunks(4).flat_map(|p| [0, 1, 2].map(|i| over_black(p[i], p[3]))).collect()
                }
                png::ColorType::Grayscale => data.iter().flat_map(|v| [*v; 3]).collect(),
                png::ColorType::GrayscaleAlpha => data.chunks(2).flat_map(|p| [over_black(p[0], p[1]); 3]).collect(),
                png::ColorType::Indexed => return Err("PNG palette left after expansion".into()),
            };
            Ok(Rgb { width: w, height: h, pixels: rgb })
        }
        other => Err(format!("{other} is not an image")),
    }
}

fn over_black(value: u8, alpha: u8) -> u8 {
    ((u16::from(value) * u16::from(alpha) + 127) / 255) as u8
}

/// Burns `text` into the image: a band along the bottom, and a faint diagonal pattern.
pub fn apply(img: &mut Rgb, text: &str) {
    let scale = (img.width / 420).clamp(1, 6);
    let band = 7 * scale + 4 * scale;
    let top = img.height.saturating_sub(band);
    for y in top..img.height {
        for x in 0..img.width {
            img.blend(x, y, [0, 0, 0], 0.85);
        }
    }
    let mut lit = Vec::new();
    let (text_w, text_h) = font::render(text, scale, |x, y| lit.push((x, y)));
    for &(x, y) in &lit {
        img.blend(2 * scale + x, top + 2 * scale + y, [255, 255, 255], 1.0);
    }
    // The pattern: the same text every few rows, shifted as it goes down.
    let step_y = (text_h * 5).max(1);
    let step_x = text_w + 8 * scale;
    let mut row = 0;
    let mut y0 = step_y / 2;
    while y0 + text_h < top {
        let mut x0 = (row * step_x / 3) % step_x.max(1);
        while x0 < img.width {
            for &(x, y) in &lit {
                img.blend(x0 + x, y0 + y, [255, 255, 255], 0.28);
            }
            x0 += step_x;
        }
        y0 += step_y;
        row += 1;
    }
}

/// Encodes as JPEG, quality 90.
pub fn encode_jpeg(img: &Rgb) -> Result<Vec<u8>, String> {
    let (w, h) = (
        u16::try_from(img.width).map_err(|_| "image too wide")?,
        u16::try_from(img.height).map_err(|_| "image too tall")?,
    );
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&img.pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| format!("JPEG encoding: {e}"))?;
    Ok(out)
}

/// Decodes, watermarks and re-encodes an image.
pub fn watermark(media_type: &str, bytes: &[u8], text: &str) -> Result<Vec<u8>, String> {
    let mut img = decode(media_type, bytes)?;
    apply(&mut img, text);
    encode_jpeg(&img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: usize, h: usize) -> Rgb {
        Rgb { width: w, height: h, pixels: vec![128; w * h * 3] }
    }

    #[test]
    fn the_band_and_the_pattern_are_burned_in() {
        let jpeg = encode_jpeg(&grey(640, 360)).unwrap();
        let marked = watermark("image/jpeg", &jpeg, "VIGIE EXPORT 01JDQ8M6N4X2V6Z7Y8W9A0B1C2").unwrap();
        let img = decode("image/jpeg", &marked).unwrap();
        assert_eq!((img.width, img.height), (640, 360));
        let at = |x: usize, y: usize| img.pixels[(y * 640 + x) * 3];
        assert!(at(630, 355) < 40, "the band is dark: {}", at(630, 355));
        // Some pixels of the text in the band are white, some of the pattern lighter than grey.
        let band_white =
            (340..360).flat_map(|y| (0..400).map(move |x| (x, y))).filter(|&(x, y)| at(x, y) > 200).count();
        assert!(band_white > 50, "{band_white}");
        let pattern = (0..300).flat_map(|y| (0..640).map(move |x| (x, y))).filter(|&(x, y)| at(x, y) > 150).count();
        assert!(pattern > 200, "{pattern}");
    }

    #[test]
    fn png_in_jpeg_out_and_garbage_refused() {
        let mut png_bytes = Vec::new();
        {
            let mut e = png::Encoder::new(&mut png_bytes, 50, 40);
            e.set_color(png::ColorType::Rgba);
            e.set_depth(png::BitDepth::Eight);
            e.write_header().unwrap().write_image_data(&vec![200; 50 * 40 * 4]).unwrap();
        }
        let out = watermark("image/png", &png_bytes, "X").unwrap();
        assert!(out.starts_with(&[0xFF, 0xD8]));
        assert!(watermark("image/jpeg", b"not a jpeg", "X").is_err());
    }
}
