/*
 * echo_client: a closed-loop epoll load generator for the echo benchmarks.
 *
 *   echo_client HOST PORT CONNS SIZE DURATION WARMUP [SERVER_PID]
 *
 * Opens CONNS TCP connections; each sends a SIZE-byte message, waits for the
 * whole echo, checks every byte, and only then sends the next (closed loop:
 * at most one request in flight per connection). After WARMUP seconds the
 * counters and the latency histogram are reset and the measured window of
 * DURATION seconds starts. If SERVER_PID is given, the server's CPU time is
 * read at the window's two edges, so the CPU figure covers exactly the
 * requests counted: its process CPU-time clock (clock_getcpuclockid: the
 * scheduler's runtime of all its threads, in ns; the kernel's utime+stime
 * are this figure split and rounded down to 10 ms clock ticks), or
 * utime+stime from /proc/PID/stat where that clock cannot be read.
 *
 * Prints one JSON line on stdout. Exit status: 0 ok, 2 usage or setup
 * error, 3 a wrong echoed byte, 4 a connection closed or failed mid-run.
 *
 * Every message differs (its bytes depend on the connection and on the
 * request's sequence number), so a server that delivered one connection's
 * bytes to another, or an old message again, is caught.
 *
 * Built by bench/echo.py with gcc -O2 into build/bench/; never committed
 * as a binary.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Latency histogram: log-linear, 128 sub-buckets per power of two of
 * nanoseconds, so any reported percentile is within 1% of the true value. */
#define SUB_BITS 7
#define SUB_COUNT (1 << SUB_BITS)
#define HIST_SIZE (SUB_COUNT * 40)

static uint64_t hist[HIST_SIZE];

static int bucket_of(uint64_t ns)
{
    if (ns < SUB_COUNT)
        return (int)ns;
    int e = 63 - __builtin_clzll(ns); /* >= SUB_BITS */
    int shift = e - SUB_BITS;
    int idx = SUB_COUNT + shift * SUB_COUNT + (int)((ns >> shift) - SUB_COUNT);
    return idx < HIST_SIZE ? idx : HIST_SIZE - 1;
}

/* Midpoint of bucket idx, in nanoseconds. */
static double bucket_value(int idx)
{
    if (idx < SUB_COUNT)
        return idx;
    int shift = (idx - SUB_COUNT) / SUB_COUNT;
    int sub = (idx - SUB_COUNT) % SUB_COUNT;
    double low = (double)((uint64_t)(sub + SUB_COUNT) << shift);
    return low + (double)((uint64_t)1 << shift) / 2.0;
}

static double percentile_us(uint64_t total, double q)
{
    if (total == 0)
        return 0.0;
    uint64_t rank = (uint64_t)(q * (double)total);
    if (rank >= total)
        rank = total - 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_SIZE; i++) {
        seen += hist[i];
        if (seen > rank)
            return bucket_value(i) / 1000.0;
    }
    return bucket_value(HIST_SIZE - 1) / 1000.0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* utime+stime of a process from /proc/PID/stat in seconds, or -1. */
static double proc_stat_cpu_s(int pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name may contain spaces and parentheses: fields are
     * counted from the last ')'. utime and stime are fields 14 and 15. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p += 2; /* now at field 3 (state) */
    unsigned long long utime = 0, stime = 0;
    int field = 3;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 14)
            utime = strtoull(tok, NULL, 10);
        else if (field == 15) {
            stime = strtoull(tok, NULL, 10);
            return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
        }
    }
    return -1;
}

/* CPU time of a whole process in seconds, or -1. The CPU-time clock counts
 * in ns; /proc's utime and stime are each rounded down to a 10 ms tick,
 * which on a one-second window is up to 2% of a busy server's time. */
static double proc_cpu_s(int pid)
{
    clockid_t clock;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &ts) == 0)
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return proc_stat_cpu_s(pid);
}

typedef struct {
    int fd;
    uint32_t id;
    uint64_t seq;       /* sequence number of the request in flight */
    size_t sent;        /* bytes of the current message written so far */
    size_t received;    /* bytes of its echo received and checked so far */
    uint64_t start_ns;  /* when the current request's first byte was sent */
    int want_out;       /* EPOLLOUT currently registered */
} conn_t;

static size_t msg_size;
static unsigned char *pattern; /* 256 + msg_size bytes of 0..255 cycling */

/* The message of (connection, seq) is pattern[offset .. offset + size). */
static const unsigned char *message_of(const conn_t *c)
{
    return pattern + ((c->id * 131u + (uint32_t)c->seq * 7u) & 0xffu);
}

static void die(int status, const char *what)
{
    if (errno)
        printf("{\"ok\": false, \"error\": \"%s: %s\"}\n", what, strerror(errno));
    else
        printf("{\"ok\": false, \"error\": \"%s\"}\n", what);
    fflush(stdout);
    exit(status);
}

static void set_events(int ep, conn_t *c, int want_out)
{
    if (c->want_out == want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die(2, "epoll_ctl");
    c->want_out = want_out;
}

/* Write as much of the current message as the socket takes. */
static void pump_write(int ep, conn_t *c)
{
    const unsigned char *msg = message_of(c);
    while (c->sent < msg_size) {
        ssize_t n = send(c->fd, msg + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(ep, c, 1);
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        die(4, "send");
    }
    set_events(ep, c, 0);
}

static void start_request(int ep, conn_t *c)
{
    c->sent = 0;
    c->received = 0;
    c->start_ns = now_ns();
    pump_write(ep, c);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNS SIZE DURATION WARMUP [SERVER_PID]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int nconns = atoi(argv[3]);
    msg_size = (size_t)atol(argv[4]);
    double duration = atof(argv[5]);
    double warmup = atof(argv[6]);
    int server_pid = argc > 7 ? atoi(argv[7]) : 0;
    if (nconns <= 0 || msg_size == 0 || duration <= 0) {
        fprintf(stderr, "CONNS, SIZE and DURATION must be positive\n");
        return 2;
    }

    pattern = malloc(msg_size + 256);
    unsigned char *rbuf = malloc(msg_size < 262144 ? 262144 : msg_size);
    conn_t *conns = calloc((size_t)nconns, sizeof *conns);
    if (!pattern || !rbuf || !conns)
        die(2, "malloc");
    for (size_t i = 0; i < msg_size + 256; i++)
        pattern[i] = (unsigned char)(i & 0xff);
    size_t rbuf_size = msg_size < 262144 ? 262144 : msg_size;

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        die(2, "bad IPv4 address");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die(2, "epoll_create1");

    /* Connect all first (blocking connects: the server's accept backlog
     * absorbs them), then start every connection's first request together. */
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die(2, "socket");
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
            die(2, "connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        conns[i].fd = fd;
        conns[i].id = (uint32_t)i;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die(2, "epoll_ctl add");
    }

    uint64_t t0 = now_ns();
    uint64_t measure_start = t0 + (uint64_t)(warmup * 1e9);
    uint64_t measure_end = measure_start + (uint64_t)(duration * 1e9);
    int measuring = warmup <= 0;
    double cpu_start = -1, cpu_end = -1;
    struct rusage ru_start, ru_end;
    if (measuring) {
        cpu_start = server_pid ? proc_cpu_s(server_pid) : -1;
        getrusage(RUSAGE_SELF, &ru_start);
        measure_start = t0;
        measure_end = t0 + (uint64_t)(duration * 1e9);
    }
    uint64_t requests = 0, total_requests = 0;

    for (int i = 0; i < nconns; i++)
        start_request(ep, &conns[i]);

    struct epoll_event events[512];
    for (;;) {
        int n = epoll_wait(ep, events, 512, 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die(2, "epoll_wait");
        }
        uint64_t now = now_ns();
        for (int k = 0; k < n; k++) {
            conn_t *c = events[k].data.ptr;
            if (events[k].events & EPOLLOUT)
                pump_write(ep, c);
            if (!(events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            /* Read what is there; the echo may arrive while we still write. */
            for (;;) {
                size_t want = msg_size - c->received;
                if (want == 0)
                    break;
                if (want > rbuf_size)
                    want = rbuf_size;
                ssize_t r = recv(c->fd, rbuf, want, 0);
                if (r > 0) {
                    if (c->received + (size_t)r > c->sent) {
                        errno = 0;
                        die(3, "server echoed bytes before they were sent");
                    }
                    if (memcmp(rbuf, message_of(c) + c->received, (size_t)r) != 0) {
                        errno = 0;
                        die(3, "wrong echoed byte");
                    }
                    c->received += (size_t)r;
                    continue;
                }
                if (r == 0) {
                    errno = 0;
                    die(4, "server closed a connection");
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                if (errno == EINTR)
                    continue;
                die(4, "recv");
            }
            if (c->received == msg_size) {
                total_requests++;
                if (measuring) {
                    requests++;
                    hist[bucket_of(now - c->start_ns)]++;
                }
                c->seq++;
                start_request(ep, c);
            }
        }
        if (!measuring && now >= measure_start) {
            /* End of warm-up: count from here. */
            measuring = 1;
            cpu_start = server_pid ? proc_cpu_s(server_pid) : -1;
            getrusage(RUSAGE_SELF, &ru_start);
            measure_start = now;
            measure_end = now + (uint64_t)(duration * 1e9);
        } else if (measuring && now >= measure_end) {
            cpu_end = server_pid ? proc_cpu_s(server_pid) : -1;
            getrusage(RUSAGE_SELF, &ru_end);
            measure_end = now;
            break;
        }
    }

    double secs = (double)(measure_end - measure_start) / 1e9;
    double client_cpu = (double)(ru_end.ru_utime.tv_sec - ru_start.ru_utime.tv_sec) +
                        (double)(ru_end.ru_utime.tv_usec - ru_start.ru_utime.tv_usec) / 1e6 +
                        (double)(ru_end.ru_stime.tv_sec - ru_start.ru_stime.tv_sec) +
                        (double)(ru_end.ru_stime.tv_usec - ru_start.ru_stime.tv_usec) / 1e6;
    double server_cpu = (cpu_start >= 0 && cpu_end >= 0) ? cpu_end - cpu_start : -1.0;
    printf("{\"ok\": true, \"conns\": %d, \"size\": %zu, \"requests\": %llu, \"total_requests\": %llu, "
           "\"seconds\": %.6f, \"rps\": %.1f, \"p50_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, "
           "\"max_us\": %.2f, \"server_cpu_s\": %.6f, \"client_cpu_s\": %.4f}\n",
           nconns, msg_size, (unsigned long long)requests, (unsigned long long)total_requests, secs,
           (double)requests / secs, percentile_us(requests, 0.50), percentile_us(requests, 0.99),
           percentile_us(requests, 0.999), percentile_us(requests, 1.0), server_cpu, client_cpu);
    fflush(stdout);
    for (int i = 0; i < nconns; i++)
        close(conns[i].fd);
    return 0;
}
