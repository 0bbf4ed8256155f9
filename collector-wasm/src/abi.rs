//! The module's exports. The loader writes texts (UTF-8, via TextEncoder) one after another
//! into `INPUT` and passes their lengths; bodies to send come back in `OUTPUT`. Only numbers
//! cross the boundary, so no wasm-bindgen glue ships: the loader is the only JavaScript.

use core::cell::UnsafeCell;

use crate::buf::Buf;
use crate::collector::Collector;
use crate::engagement::scroll_percent;

/// Bytes of text one call may pass in.
pub const INPUT_BYTES: usize = 8 * 1024;

/// The page's one collector. A wasm instance is single-threaded and the loader never
/// re-enters an export, so the exclusive borrows below never overlap.
struct Global<T>(UnsafeCell<T>);
unsafe impl<T> Sync for Global<T> {}

static COLLECTOR: Global<Collector> = Global(UnsafeCell::new(Collector::new()));
static INPUT: Global<[u8; INPUT_BYTES]> = Global(UnsafeCell::new([0; INPUT_BYTES]));
static OUTPUT: Global<Buf<{ 32 * 1024 }>> = Global(UnsafeCell::new(Buf::new()));

fn collector() -> &'static mut Collector {
    unsafe { &mut *COLLECTOR.0.get() }
}

/// Splits the input into consecutive texts of the given lengths.
fn texts<const K: usize>(lengths: [u32; K]) -> [&'static [u8]; K] {
    let input: &'static [u8; INPUT_BYTES] = unsafe { &*INPUT.0.get() };
    let mut start = 0usize;
    lengths.map(|len| {
        let end = (start + len as usize).min(INPUT_BYTES);
        let text = &input[start.min(end)..end];
        start = end;
        text
    })
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

/// Input: URL ‖ referrer. Returns 1 when the loader should flush now.
#[no_mangle]
pub extern "C" fn page(url: u32, referrer: u32, viewport_width: u32, now: f64) -> u32 {
    let [url, referrer] = texts([url, referrer]);
    collector().page(url, referrer, viewport_width, now) as u32
}

#[no_mangle]
pub extern "C" fn active(is_active: u32, now: f64) {
    collector().set_active(is_active != 0, now);
}

#[no_mangle]
pub extern "C" fn scrolled(scroll_top: f64, viewport: f64, document_height: f64) {
    collector().scrolled(scroll_percent(scroll_top, viewport, document_height));
}

/// Input: the link's absolute href.
#[no_mangle]
pub extern "C" fn link(href: u32) -> u32 {
    let [href] = texts([href]);
    collector().link_click(href) as u32
}

/// Input: name ‖ props JSON.
#[no_mangle]
pub extern "C" fn custom(name: u32, props: u32) -> u32 {
    let [name, props] = texts([name, props]);
    collector().custom(name, props) as u32
}

/// Returns the length of the body now in the output buffer (0: nothing to send).
#[no_mangle]
pub extern "C" fn flush(now: f64, closing: u32) -> u32 {
    let out = unsafe { &mut *OUTPUT.0.get() };
    collector().flush(now, closing != 0, out) as u32
}

#[no_mangle]
pub extern "C" fn failed() {
    collector().send_failed();
}
