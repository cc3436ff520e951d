/* The machine's floor for spawn-and-wait: posix_spawnp + waitpid in C.
 *
 *   gcc -O2 -o build/bench/spawn_floor bench/spawn_floor.c
 *   build/bench/spawn_floor [PROGRAM [COUNT]]      (default: true 2000)
 *
 * Prints the wall time per process, the time blocked in posix_spawnp (the
 * vfork until the child has exec'd) and this process's CPU per process:
 * what no event loop can go below (bench/processes.py's spawn case).
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    const char *prog = argc > 1 ? argv[1] : "true";
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    char *args[] = {(char *)prog, NULL};
    double in_spawn = 0, t0 = now_us();
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int status;
        double s = now_us();
        if (posix_spawnp(&pid, prog, NULL, NULL, args, environ) != 0) {
            perror("posix_spawnp");
            return 1;
        }
        in_spawn += now_us() - s;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s failed\n", prog);
            return 1;
        }
    }
    double wall = now_us() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
    printf("%s x %d: %.1f us per process, %.1f us of it in posix_spawnp, %.1f us of CPU\n",
           prog, n, wall / n, in_spawn / n, cpu / n);
    return 0;
}
