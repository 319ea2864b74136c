//! Reading a voucher's QR code from a camera frame (PNG or JPEG), for phones whose browser has
//! no QR reader of its own. Frames come from outside: their size is bounded before decoding, and
//! anything unreadable ends in a clear error, never a panic.

use std::io::Cursor;

/// Frames larger than this (either side, in pixels) are refused.
pub const MAX_SIDE: u32 = 2000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("image illisible (PNG ou JPEG attendu)")]
    NotAnImage,
    #[error("image trop grande (au plus {MAX_SIDE} × {MAX_SIDE} pixels)")]
    TooLarge,
    #[error("aucun QR code lisible dans l'image")]
    NoCode,
}

/// The text of the first readable QR code in the frame.
pub fn read_qr(bytes: &[u8]) -> Result<String, FrameError> {
    let reader =
        image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| FrameError::NotAnImage)?;
    let (w, h) = reader.into_dimensions().map_err(|_| FrameError::NotAnImage)?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(FrameError::TooLarge);
    }
    let mut reader =
        image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| FrameError::NotAnImage)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(64 << 20);
    reader.limits(limits);
    let luma = reader.decode().map_err(|_| FrameError::NotAnImage)?.to_luma8();
    // The decoder is third-party code fed with outside data: a panic in it is an unreadable frame.
    std::panic::catch_unwind(|| {
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(luma.width() as usize, luma.height() as usize, |x, y| {
                luma.get_pixel(x as u32, y as u32).0[0]
            });
        prepared.detect_grids().into_iter().find_map(|grid| grid.decode().ok().map(|(_, text)| text))
    })
    .ok()
    .flatten()
    .ok_or(FrameError::NoCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG frame showing the QR code of `text`, as a camera would see it (grey, offset).
    pub fn frame(text: &str, scale: u32) -> Vec<u8> {
        let (width, modules) = issuer::pdf::qr_modules(text).unwrap();
        let side = (width as u32 + 8) * scale;
        let img = image::GrayImage::from_fn(side + 37, side + 11, |x, y| {
            let (mx, my) = ((x.saturating_sub(20)) / scale, (y.saturating_sub(5)) / scale);
            let inside = x >= 20 && y >= 5 && mx >= 4 && my >= 4 && mx < width as u32 + 4 && my < width as u32 + 4;
            let dark = inside && modules[((my - 4) as usize) * width + (mx - 4) as usize];
            image::Luma([if dark { 30 } else { 220 }])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn reads_a_voucher_qr_code() {
        let url = format!("HTTPS://PASSERELLE.EXAMPLE/V/{}", "7".repeat(136));
        assert_eq!(read_qr(&frame(&url, 4)).unwrap(), url);
    }

    #[test]
    fn refuses_what_is_not_a_readable_frame() {
        assert_eq!(read_qr(b"not an image"), Err(FrameError::NotAnImage));
        assert_eq!(read_qr(&[]), Err(FrameError::NotAnImage));
        let blank = image::GrayImage::from_pixel(64, 48, image::Luma([255]));
        let mut png = Vec::new();
        blank.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert_eq!(read_qr(&png), Err(FrameError::NoCode));
        let huge = image::GrayImage::from_pixel(MAX_SIDE + 1, 1, image::Luma([255]));
        let mut png = Vec::new();
        huge.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert_eq!(read_qr(&png), Err(FrameError::TooLarge));
        // A truncated PNG.
        let good = frame("HTTPS://X/V/1", 2);
        assert_eq!(read_qr(&good[..good.len() / 2]), Err(FrameError::NotAnImage));
    }
}
