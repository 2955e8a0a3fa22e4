//! Image parts, decoded once per document within the pixel budget.

use std::rc::Rc;

use crate::ConvertError;
use crate::image_part::{self, Decoded};
use crate::package::resolve;

use super::{El, R, Renderer};

impl<'p, 'z> Renderer<'p, 'z> {
    pub(super) fn image(&mut self, el: El, src: &str) -> R<Rc<Decoded>> {
        let src = src.trim();
        // {ColorConvertedBitmap image profile}: the image, without the colour conversion.
        let uri = match src.strip_prefix('{') {
            Some(inner) => inner
                .trim_end_matches('}')
                .split_whitespace()
                .nth(1)
                .ok_or_else(|| self.err(el, format!("ImageSource=\"{src}\"")))?,
            None => src,
        };
        let key = resolve(el.part, uri).0;
        if let Some(d) = self.images.get(&key) {
            return Ok(d.clone());
        }
        let bytes = self.pkg.read(&key, &self.pkg.display(el.part))?;
        let d = Rc::new(image_part::decode(
            &self.pkg.display(&key),
            &bytes,
            self.pkg.content_type(&key),
            self.limits,
        )?);
        self.image_pixels += u64::from(d.width) * u64::from(d.height);
        if self.image_pixels > self.limits.max_total_image_pixels {
            return Err(ConvertError::TooManyImagePixels {
                part: self.pkg.display(&key),
                limit: self.limits.max_total_image_pixels,
            });
        }
        self.images.insert(key, d.clone());
        Ok(d)
    }
}
