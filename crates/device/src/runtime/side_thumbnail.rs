//! Thumbnails of printed sides for the control API (`GET …/sides/{file}?width=N`): a page
//! that shows every side of a job needs a few kilobytes per side, not the full-resolution PNG.

/// `png` scaled down to `width` pixels wide (never up), aspect kept, as a PNG.
pub(super) fn thumbnail(png: &[u8], width: u32) -> Result<Vec<u8>, image::ImageError> {
    let side = image::load_from_memory_with_format(png, image::ImageFormat::Png)?;
    let small = if side.width() > width {
        side.thumbnail(width, u32::MAX)
    } else {
        side
    };
    let mut out = std::io::Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_is_scaled_to_the_width_asked_and_keeps_its_aspect() {
        let side = image::GrayImage::from_fn(600, 800, |x, _| image::Luma([(x % 256) as u8]));
        let mut png = std::io::Cursor::new(Vec::new());
        side.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let small = image::load_from_memory(&thumbnail(png.get_ref(), 150).unwrap()).unwrap();
        assert_eq!((small.width(), small.height()), (150, 200));
        // Never scaled up.
        let same = image::load_from_memory(&thumbnail(png.get_ref(), 1000).unwrap()).unwrap();
        assert_eq!((same.width(), same.height()), (600, 800));
        assert!(thumbnail(b"not a png", 150).is_err());
    }
}
