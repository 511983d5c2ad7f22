/* An LD_PRELOAD shim for process-handling tests (tests/process_test.sh): it makes chosen
 * system calls fail the way a loaded machine makes them fail, and logs what the program
 * asked of the kernel, so a test can check what the sweep's parent does with its children.
 * Environment (each optional):
 *   RK_SHIM_FAIL_FORK=N     the N-th fork() of the process fails with EAGAIN (counted from 1
 *                           in the process that loaded the shim; children count on from it);
 *   RK_SHIM_WAITPID=ECHILD  every waitpid() fails with ECHILD, as when a child was reaped
 *                           elsewhere;
 *   RK_SHIM_LOG=FILE        appends "kill PID SIG" for every kill() and "reaped PID" for every
 *                           waitpid() that collected a child.
 * kill() with a pid <= 0 (a process group, or every process of the user: what signalling a
 * failed fork's -1 would do) is logged as "kill PID SIG" and NOT passed on: the test fails
 * on the log line instead of the machine losing processes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int forks;

static void say(const char *fmt, long a, long b)
{
    const char *path = getenv("RK_SHIM_LOG");
    if (!path) return;
    char line[96];
    int n = snprintf(line, sizeof line, fmt, a, b);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (n > 0) (void)!write(fd, line, (size_t)n); /* one write: lines of processes never mix */
    close(fd);
}

pid_t fork(void)
{
    static pid_t (*real)(void);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "fork"); /* POSIX: dlsym's way for functions */
    const char *n = getenv("RK_SHIM_FAIL_FORK");
    if (n && ++forks == atoi(n)) {
        errno = EAGAIN;
        return -1;
    }
    return real();
}

int kill(pid_t pid, int sig)
{
    static int (*real)(pid_t, int);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "kill");
    if (sig != 0) say("kill %ld %ld\n", (long)pid, (long)sig);
    if (pid <= 0 && sig != 0) {
        errno = EPERM;
        return -1;
    }
    return real(pid, sig);
}

pid_t waitpid(pid_t pid, int *status, int options)
{
    static pid_t (*real)(pid_t, int *, int);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "waitpid");
    const char *w = getenv("RK_SHIM_WAITPID");
    if (w && !strcmp(w, "ECHILD")) {
        errno = ECHILD;
        return -1;
    }
    pid_t r = real(pid, status, options);
    if (r > 0) say("reaped %ld%.0ld\n", (long)r, 0L);
    return r;
}
