//! The module's exports. The loader writes texts (UTF-8, via TextEncoder) one after another
//! into `INPUT` and passes their lengths; bodies to send come back in `OUTPUT`. Only numbers
//! cross the boundary, so no wasm-bindgen glue ships: the loader is the only JavaScript.

use core::cell::UnsafeCell;

use crate::buf::Buf;
use crate::collector::Collector;

/// Bytes of text one call may pass in.
/// Bytes of text one call may pass in. A properties fragment always comes first, so the input
/// can only cut a fragment that is longer than the collector takes anyway.
pub const INPUT_BYTES: usize = 16 * 1024;
const _: () = assert!(INPUT_BYTES > crate::collector::EXTRA_BYTES);

/// The page's one collector. A wasm instance is single-threaded and the loader never
/// re-enters an export, so the exclusive borrows below never overlap.
struct Global<T>(UnsafeCell<T>);
unsafe impl<T> Sync for Global<T> {}

static COLLECTOR: Global<Collector> = Global(UnsafeCell::new(Collector::new()));
static INPUT: Global<[u8; INPUT_BYTES]> = Global(UnsafeCell::new([0; INPUT_BYTES]));
static OUTPUT: Global<Buf<{ ingest_limits::MAX_BODY_BYTES }>> = Global(UnsafeCell::new(Buf::new()));

fn collector() -> &'static mut Collector {
    unsafe { &mut *COLLECTOR.0.get() }
}

/// Splits the input into consecutive texts of the given lengths.
fn texts<const K: usize>(lengths: [u32; K]) -> [&'static [u8]; K] {
    let mut out: [&'static [u8]; K] = [&[]; K];
    split_input(&lengths, &mut out);
    out
}

/// One copy for every `texts::<K>` (a copy per K would multiply the module's code).
#[inline(never)]
fn split_input(lengths: &[u32], out: &mut [&'static [u8]]) {
    let input: &'static [u8; INPUT_BYTES] = unsafe { &*INPUT.0.get() };
    let mut start = 0usize;
    for (len, text) in lengths.iter().zip(out.iter_mut()) {
        let end = (start + *len as usize).min(INPUT_BYTES);
        *text = input.get(start..end).unwrap_or_default();
        start = end;
    }
}

#[no_mangle]
pub extern "C" fn input_ptr() -> *mut u8 {
    INPUT.0.get() as *mut u8
}

#[no_mangle]
pub extern "C" fn input_len() -> u32 {
    INPUT_BYTES as u32
}

#[no_mangle]
pub extern "C" fn output_ptr() -> *const u8 {
    unsafe { (*OUTPUT.0.get()).as_bytes().as_ptr() }
}

/// Input: site ‖ allow-list ‖ download extensions ‖ page URL. Returns 1 when collecting.
#[no_mangle]
pub extern "C" fn configure(flags: u32, site: u32, allow: u32, downloads: u32, url: u32) -> u32 {
    let [site, allow, downloads, url] = texts([site, allow, downloads, url]);
    collector().configure(flags, site, allow, downloads, url) as u32
}

/// Input: properties fragment ‖ URL ‖ referrer. `how`: 1 forced (`vigia('pageview')`),
/// 2 excluded. Returns `outcome` bits.
#[no_mangle]
pub extern "C" fn page(
    extra: u32,
    url: u32,
    referrer: u32,
    viewport_width: u32,
    now: f64,
    bottom: f64,
    height: f64,
    how: u32,
) -> u32 {
    let [extra, url, referrer] = texts([extra, url, referrer]);
    let (forced, excluded) = (how & 1 != 0, how & 2 != 0);
    collector().page(
        url,
        referrer,
        extra,
        viewport_width,
        now,
        bottom,
        height,
        forced,
        excluded,
    )
}

#[no_mangle]
pub extern "C" fn active(is_active: u32, now: f64) {
    collector().set_active(is_active != 0, now);
}

#[no_mangle]
pub extern "C" fn viewed(bottom: f64, height: f64) {
    collector().viewed(bottom, height);
}

/// Input: the link's absolute href. Returns `outcome` bits.
#[no_mangle]
pub extern "C" fn link(href: u32) -> u32 {
    let [href] = texts([href]);
    collector().link_click(href)
}

/// Input: properties and revenue fragment ‖ name. Returns `outcome` bits.
#[no_mangle]
pub extern "C" fn custom(extra: u32, name: u32) -> u32 {
    let [extra, name] = texts([extra, name]);
    collector().custom(name, extra)
}

/// Returns the length of the body now in the output buffer (0: nothing to send). The loader
/// calls it until it returns 0.
#[no_mangle]
pub extern "C" fn flush(now: f64, closing: u32) -> u32 {
    let out = unsafe { &mut *OUTPUT.0.get() };
    collector().flush(now, closing != 0, out) as u32
}
