//! Starting afresh: after a first run has set up the account, `kith serve` replaces its
//! own process with a new run of the same command (same arguments, environment and
//! process id); it also does so once at start, to run with the allocator's settings
//! that glibc reads only when a process starts (`heap`). Key generation and argon2 leave pages of code and heap resident that a
//! server started on an existing data directory never touches; a new process image
//! leaves them behind. When the exec fails (the binary is gone, or cannot be run
//! directly, as under qemu-user), the caller simply goes on in the same process.

/// `execv` of this program with its own arguments; returns only the error. (Not
/// `Command::exec`: on a binary the kernel cannot run, its `execvp` hands the file to
/// `/bin/sh`, which would replace kith with a shell error.)
pub fn exec_self() -> std::io::Error {
    use std::ffi::{CString, OsStr};
    use std::os::unix::ffi::OsStrExt;
    let c_string = |s: &OsStr| {
        CString::new(s.as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let exe = match std::env::current_exe().and_then(|exe| c_string(exe.as_os_str())) {
        Ok(exe) => exe,
        Err(e) => return e,
    };
    let args = match std::env::args_os()
        .map(|a| c_string(&a))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(args) => args,
        Err(e) => return e,
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: `exe` and every `argv` entry are NUL-terminated strings that live past
    // the call, and `argv` ends with a null pointer, as execv requires.
    unsafe {
        libc::execv(exe.as_ptr(), argv.as_ptr());
    }
    std::io::Error::last_os_error()
}
