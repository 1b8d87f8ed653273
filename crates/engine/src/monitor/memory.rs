//! Keeping an idle monitor small (see ARCHITECTURE.md, "The monitor's
//! footprint"): once the container runs, the monitor gives back what its
//! setup touched.

use berth_store::Store;

/// An idle monitor only runs its poll loop: give back what setup touched
/// (SQLite's page cache, freed heap, and the binary's read-only pages,
/// which fault back in from the page cache if ever needed again), and the
/// sealed copy of crun's binary (~0.5 MB, made again for the next call).
pub(super) fn shed_setup_memory(store: &Store) {
    berth_runtime::release_sealed_copy();
    let _ = store.db().execute_batch("PRAGMA shrink_memory");
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    drop_readonly_file_pages();
}

/// `MADV_DONTNEED` on the read-only segments of every loaded object (the
/// binary, libc, ...) except their `PT_GNU_RELRO` ranges: those pages still
/// hold the file's bytes, so dropping them loses nothing and they fault back in
/// from the page cache if touched. RELRO pages were written by the dynamic
/// linker before being made read-only and must be kept.
pub fn drop_readonly_file_pages() {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        _data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the loader hands us a valid dl_phdr_info for the call.
        let info = unsafe { &*info };
        if info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let base = info.dlpi_addr as usize;
        let relro = headers
            .iter()
            .find(|h| h.p_type == libc::PT_GNU_RELRO)
            .map(|h| {
                (
                    base + h.p_vaddr as usize,
                    base + (h.p_vaddr + h.p_memsz) as usize,
                )
            });
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        for h in headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0)
        {
            let start = (base + h.p_vaddr as usize).div_ceil(page) * page;
            let end = (base + (h.p_vaddr + h.p_filesz) as usize) / page * page;
            let mut ranges = vec![(start, end)];
            if let Some((r0, r1)) = relro {
                let (r0, r1) = (r0 / page * page, r1.div_ceil(page) * page);
                ranges = vec![(start, end.min(r0)), (start.max(r1), end)];
            }
            for (a, b) in ranges.into_iter().filter(|(a, b)| a < b) {
                // SAFETY: [a, b) lies inside a read-only, file-backed segment
                // of a loaded object and outside its RELRO range.
                unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
            }
        }
        0
    }
    // SAFETY: dl_iterate_phdr calls `visit` synchronously for each object.
    unsafe { libc::dl_iterate_phdr(Some(visit), std::ptr::null_mut()) };
}
