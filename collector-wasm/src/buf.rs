//! A fixed-capacity byte buffer: the collector allocates nothing, so it ships no allocator.
//! Also the slicing helpers the module uses instead of `&s[a..b]`: an index that can panic
//! links core's panic formatting and its messages (~1 KB gzip), so nothing here can.

/// `&s[from..]`, or empty when out of range.
#[inline]
pub fn tail(s: &[u8], from: usize) -> &[u8] {
    s.get(from..).unwrap_or_default()
}

/// `&s[..to]`, or all of `s` when `to` is past its end.
#[inline]
pub fn head(s: &[u8], to: usize) -> &[u8] {
    s.get(..to).unwrap_or(s)
}

pub struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buf<N> {
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        head(&self.bytes, self.len)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The capacity-independent view the writing methods work on: one copy of each method
    /// serves every buffer size (a generic copy per size would multiply the module's code).
    pub fn writer(&mut self) -> Writer<'_> {
        Writer {
            bytes: &mut self.bytes,
            len: &mut self.len,
            ok: true,
        }
    }

    /// Appends `data` whole, or nothing when it does not fit.
    pub fn push(&mut self, data: &[u8]) -> bool {
        self.writer().raw(data).ok()
    }

    pub fn set(&mut self, data: &[u8]) -> bool {
        self.clear();
        self.push(data)
    }
}

/// Appends to a buffer, call after call; the first write that does not fit stops all later
/// ones, so a caller writes a whole record and checks once at the end (each call site is a
/// plain call: no branch per write).
pub struct Writer<'a> {
    bytes: &'a mut [u8],
    len: &'a mut usize,
    ok: bool,
}

impl Writer<'_> {
    /// Whether everything written so far fitted.
    pub fn ok(&self) -> bool {
        self.ok
    }

    /// Appends `data` whole, or nothing (and every later write) when it does not fit.
    #[inline(never)]
    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        let start = *self.len;
        match self.bytes.get_mut(start..start + data.len()) {
            Some(dest) if self.ok => {
                dest.copy_from_slice(data);
                *self.len = start + data.len();
            }
            _ => self.ok = false,
        }
        self
    }

    /// Appends `data` as a JSON string literal, whole or not at all.
    #[inline(never)]
    pub fn string(&mut self, data: &[u8]) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let start = *self.len;
        self.raw(b"\"");
        for &b in data {
            match b {
                b'"' => self.raw(b"\\\""),
                b'\\' => self.raw(b"\\\\"),
                0..=0x1f => self.raw(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]),
                _ => self.raw(&[b]),
            };
        }
        self.raw(b"\"");
        if !self.ok {
            *self.len = start;
        }
        self
    }

    /// Appends a decimal number.
    #[inline(never)]
    pub fn number(&mut self, mut n: u32) -> &mut Self {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
            i -= 1;
            if n == 0 {
                break;
            }
        }
        self.raw(tail(&digits, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_json_and_refuses_overflow_whole() {
        let mut b = Buf::<32>::new();
        assert!(b.writer().string(b"a\"b\\c\n\x01").ok());
        assert_eq!(b.as_bytes(), br#""a\"b\\c\u000a\u0001""#);
        let before = b.len();
        assert!(!b.writer().string(b"this will not fit at all").ok());
        assert_eq!(b.len(), before);
    }

    #[test]
    fn numbers() {
        for n in [0u32, 9, 10, 1280, u32::MAX] {
            let mut b = Buf::<16>::new();
            b.writer().number(n);
            assert_eq!(b.as_bytes(), n.to_string().as_bytes());
        }
    }
}
