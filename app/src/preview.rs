//! Image attachments decoded for their inline preview, off the UI thread, within limits: an
//! image another member chose must not take the app's memory or time (a small file can
//! claim enormous dimensions). And an image pasted into the compose box, encoded as the PNG
//! file it is sent as.

use image::ImageReader;

/// The largest width or height decoded.
const MAX_SIDE: u32 = 8192;
/// The largest decoded image, in bytes.
const MAX_ALLOC: u64 = 256 << 20;
/// Previews are scaled down to fit this box.
pub const PREVIEW_SIDE: u32 = 360;

/// Decodes a PNG, JPEG, GIF (first frame) or WebP and scales it to fit the preview box.
pub fn decode(bytes: &[u8]) -> Result<egui::ColorImage, String> {
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| format!("not an image this app shows: {e}"))?;
    // Scaled down to fit, never up.
    let preview = if image.width() > PREVIEW_SIDE || image.height() > PREVIEW_SIDE {
        image.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE)
    } else {
        image
    }
    .to_rgba8();
    let size = [preview.width() as usize, preview.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        preview.as_raw(),
    ))
}

/// An image (pasted from the clipboard) as a PNG file's bytes.
pub fn png(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [width, height] = image.size;
    let rgba: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|pixel| pixel.to_srgba_unmultiplied())
        .collect();
    let buffer = image::RgbaImage::from_raw(width as u32, height as u32, rgba)
        .ok_or_else(|| "the image's size does not match its pixels".to_owned())?;
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(buffer)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 10, 10, 255]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgba8(image)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn images_are_scaled_into_the_preview_box_and_garbage_is_refused() {
        let preview = decode(&png(1200, 600)).unwrap();
        assert_eq!(preview.size, [360, 180]);
        assert_eq!(
            decode(&png(64, 32)).unwrap().size,
            [64, 32],
            "small ones stay small"
        );
        assert!(decode(b"not an image").is_err());
        // A PNG header claiming 100,000 x 100,000 pixels is refused before any allocation.
        let mut huge = png(1, 1);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn a_pasted_image_becomes_a_png_that_decodes_to_the_same_pixels() {
        let mut pasted = egui::ColorImage::filled([40, 20], egui::Color32::from_rgb(10, 120, 240));
        pasted.pixels[0] = egui::Color32::from_rgb(255, 0, 0);
        let back = decode(&super::png(&pasted).unwrap()).unwrap();
        assert_eq!(back.size, [40, 20]);
        assert_eq!(back.pixels, pasted.pixels);
    }
}
