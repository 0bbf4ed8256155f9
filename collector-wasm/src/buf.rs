//! A fixed-capacity byte buffer: the collector allocates nothing, so it ships no allocator.

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
        &self.bytes[..self.len]
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
    fn writer(&mut self) -> Writer<'_> {
        Writer {
            bytes: &mut self.bytes,
            len: &mut self.len,
        }
    }

    /// Appends `data` whole, or nothing when it does not fit.
    pub fn push(&mut self, data: &[u8]) -> bool {
        self.writer().push(data)
    }

    pub fn set(&mut self, data: &[u8]) -> bool {
        self.clear();
        self.push(data)
    }

    /// Writes `data` as a JSON string literal; false (and the buffer unchanged) if it does not fit.
    pub fn push_json_string(&mut self, data: &[u8]) -> bool {
        self.writer().push_json_string(data)
    }

    /// Writes a decimal number.
    pub fn push_u32(&mut self, n: u32) -> bool {
        self.writer().push_u32(n)
    }
}

struct Writer<'a> {
    bytes: &'a mut [u8],
    len: &'a mut usize,
}

impl Writer<'_> {
    #[inline(never)]
    fn push(&mut self, data: &[u8]) -> bool {
        let start = *self.len;
        match self.bytes.get_mut(start..start + data.len()) {
            Some(dest) => {
                dest.copy_from_slice(data);
                *self.len = start + data.len();
                true
            }
            None => false,
        }
    }

    #[inline(never)]
    fn push_json_string(&mut self, data: &[u8]) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let start = *self.len;
        let mut ok = self.push(b"\"");
        for &b in data {
            ok &= match b {
                b'"' => self.push(b"\\\""),
                b'\\' => self.push(b"\\\\"),
                0..=0x1f => self.push(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]),
                _ => self.push(&[b]),
            };
        }
        ok &= self.push(b"\"");
        if !ok {
            *self.len = start;
        }
        ok
    }

    #[inline(never)]
    fn push_u32(&mut self, mut n: u32) -> bool {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_json_and_refuses_overflow_whole() {
        let mut b = Buf::<32>::new();
        assert!(b.push_json_string(b"a\"b\\c\n\x01"));
        assert_eq!(b.as_bytes(), br#""a\"b\\c\u000a\u0001""#);
        let before = b.len();
        assert!(!b.push_json_string(b"this will not fit at all"));
        assert_eq!(b.len(), before);
    }

    #[test]
    fn numbers() {
        for n in [0u32, 9, 10, 1280, u32::MAX] {
            let mut b = Buf::<16>::new();
            b.push_u32(n);
            assert_eq!(b.as_bytes(), n.to_string().as_bytes());
        }
    }
}
