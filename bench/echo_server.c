/*
 * echo_server: a single-threaded C epoll echo server, the machine's limit
 * line in the echo benchmarks (what one core does with no interpreter).
 *
 *   echo_server PORT        (0 picks a free port)
 *
 * Prints "READY <port>" on stdout once listening, then serves until killed.
 * Level-triggered epoll; each readable connection gets one recv of up to
 * 256 KiB per wake-up (like an event loop's read callback) and the bytes are
 * sent straight back; what the socket does not take is kept and the
 * connection stops reading until it drains (bounded memory).
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)

typedef struct {
    int fd;
    char *pending;     /* unsent echo, or NULL */
    size_t pending_len;
    size_t pending_off;
} conn_t;

static char buf[BUF_SIZE];

static void close_conn(int ep, conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

/* Send data; keep what the socket refuses. Returns -1 if the peer is gone. */
static int send_or_keep(int ep, conn_t *c, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->pending = malloc(len - off);
            if (!c->pending)
                return -1;
            memcpy(c->pending, data + off, len - off);
            c->pending_len = len - off;
            c->pending_off = 0;
            /* Stop reading until the backlog is out: EPOLLOUT only. */
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        } else {
            return -1;
        }
    }
    return 0;
}

static int flush_pending(int ep, conn_t *c)
{
    while (c->pending_off < c->pending_len) {
        ssize_t n = send(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
        if (n > 0)
            c->pending_off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            return -1;
    }
    free(c->pending);
    c->pending = NULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("bind/listen");
        return 2;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    printf("READY %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);

    struct epoll_event events[512];
    for (;;) {
        int n = epoll_wait(ep, events, 512, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 2;
        }
        for (int k = 0; k < n; k++) {
            conn_t *c = events[k].data.ptr;
            if (c == NULL) { /* the listener: accept everything pending */
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (c->pending) {
                if ((events[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && flush_pending(ep, c) < 0)
                    close_conn(ep, c);
                continue;
            }
            ssize_t r = recv(c->fd, buf, BUF_SIZE, 0);
            if (r > 0) {
                if (send_or_keep(ep, c, buf, (size_t)r) < 0)
                    close_conn(ep, c);
            } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                close_conn(ep, c);
            }
        }
    }
}
