//! A web action with a binary response: a solid-colour PNG, generated
//! without dependencies and served as `image/png`.
//!
//! `GET .../web_image?color=ff8800&size=16` answers a 16x16 orange PNG
//! (defaults: `color=000000`, `size=1`); a bad colour or size answers `400`
//! with a text message. The response body is base64, which the controller
//! decodes because `image/png` is a binary type; `whisk::web::Response`
//! does the encoding.
//!
//! ```text
//! wsk action create web_image --docker <image> --web true
//! curl -o dot.png "https://$APIHOST/api/v1/web/guest/default/web_image?color=ff0000"
//! ```

use whisk::web::{self, Request, Response};

#[whisk::action]
fn web_image(req: Request) -> Result<Response, whisk::Error> {
    let color = req
        .param("color")
        .and_then(|v| v.as_str())
        .unwrap_or("000000");
    let rgb = parse_color(color).ok_or_else(|| {
        web::error(
            400,
            format!("`color` must be six hex digits, not {color:?}"),
        )
    })?;
    let size = match req.param("size").and_then(|v| v.as_str()) {
        None => 1,
        Some(size) => size
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| web::error(400, format!("`size` must be 1 to 64, not {size:?}")))?,
    };
    Ok(Response::ok()
        .header("cache-control", "public, max-age=86400")
        .bytes("image/png", png(size, size, rgb)))
}

/// `rrggbb` (an optional leading `#` allowed) as three bytes.
fn parse_color(hex: &str) -> Option<[u8; 3]> {
    let hex = hex.strip_prefix('#').unwrap_or(hex);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// A `width` x `height` PNG of one colour: 8-bit RGB, one IDAT whose zlib
/// stream uses stored (uncompressed) deflate blocks.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    // Each scanline: filter type 0, then the pixels.
    let mut scanline = vec![0];
    for _ in 0..width {
        scanline.extend_from_slice(&rgb);
    }
    let raw = scanline.repeat(height as usize);
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        zlib.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        let len = block.len() as u16;
        zlib.push(u8::from(last));
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, filter 0, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, as PNG uses it), bit by bit: the images are tiny.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
