//! Children of a bench die with it, however it ends: [`crate::bench_targets::Targets::finish`]
//! exits without running destructors when a target is missed, and a bench killed by a signal
//! runs none, so `kill_on_drop` alone left a cloud or a whole lab idling on the machine after
//! a failed or interrupted run (and skewing the next run's figures).

/// Asks the kernel to kill the child `command` starts when this process ends
/// (`PR_SET_PDEATHSIG`).
pub fn dies_with_this_process(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}
