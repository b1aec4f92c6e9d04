// A closed-loop echo load generator on one epoll thread, so it costs little and measures the server.
// Each of N connections keeps W messages of S bytes in flight: it sends W, and for every S bytes
// that come back it records the oldest message's round trip and sends one more. After a warm-up,
// a timed run counts messages and fills a latency histogram.
//
//   loadgen [-h HOST] [-p PORT | -u UNIX_PATH] [-c CONNS] [-w WINDOW] [-s SIZE] [-d SECONDS] [-W WARMUP]
//
// Prints one line of key=value pairs: msgs_per_s, mb_per_s, p50_us, p99_us, p999_us, errors, conns.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

// Log-linear histogram of microseconds: 64 sub-buckets per power of two (about 1.6% precision).
#define SUB 64
#define POWERS 40
static uint64_t histogram[POWERS * SUB];

static void record(uint64_t us) {
    int power = 0;
    while ((us >> power) >= SUB && power < POWERS - 1) power++;
    uint64_t sub = us >> power;
    if (sub >= SUB) sub = SUB - 1;
    histogram[power * SUB + sub]++;
}

static double percentile(double p, uint64_t total) {
    uint64_t want = (uint64_t)(p * (double)total), seen = 0;
    for (int power = 0; power < POWERS; power++)
        for (int sub = 0; sub < SUB; sub++) {
            seen += histogram[power * SUB + sub];
            if (seen > want && seen > 0) return (double)((uint64_t)sub << power);
        }
    return 0;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

typedef struct {
    int fd;
    uint64_t *sent_at;   // ring of W send times
    int head, count;     // oldest in flight, how many in flight
    size_t to_send;      // bytes of queued messages not yet written
    size_t received;     // bytes of the current answer received so far
    int want_out;
} conn_t;

static int window = 1, size = 64;
static char *payload, *sink;
static size_t sink_size = 1 << 20;
static uint64_t messages, errors;
static int measuring;

static void queue_message(conn_t *c) {
    c->sent_at[(c->head + c->count) % window] = now_ns();
    c->count++;
    c->to_send += (size_t)size;
}

static int flush_out(conn_t *c) {
    while (c->to_send > 0) {
        // Every message is the same bytes, so any slice of the payload will do.
        size_t chunk = c->to_send < (size_t)size ? c->to_send : (size_t)size;
        ssize_t n = send(c->fd, payload, chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) return 1;
            return -1;
        }
        c->to_send -= (size_t)n;
    }
    return 0;
}

static int connect_one(const char *host, int port, const char *unix_path) {
    int fd;
    if (unix_path) {
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, unix_path, sizeof a.sun_path - 1);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) return -1;
    } else {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, host, &a.sin_addr);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) return -1;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *unix_path = NULL;
    int port = 9999, conns = 1, opt;
    double seconds = 5, warmup = 1;
    while ((opt = getopt(argc, argv, "h:p:u:c:w:s:d:W:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'u': unix_path = optarg; break;
        case 'c': conns = atoi(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'W': warmup = atof(optarg); break;
        default: fprintf(stderr, "usage: loadgen [-h host] [-p port | -u path] [-c conns] [-w window] [-s size] [-d seconds] [-W warmup]\n"); return 2;
        }
    }
    payload = malloc((size_t)size);
    memset(payload, 'a', (size_t)size);
    sink = malloc(sink_size);

    int ep = epoll_create1(0);
    conn_t *cs = calloc((size_t)conns, sizeof *cs);
    for (int i = 0; i < conns; i++) {
        cs[i].fd = connect_one(host, port, unix_path);
        if (cs[i].fd < 0) { fprintf(stderr, "loadgen: connection %d failed: %s\n", i, strerror(errno)); return 1; }
        cs[i].sent_at = calloc((size_t)window, sizeof(uint64_t));
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    for (int i = 0; i < conns; i++) {
        for (int k = 0; k < window; k++) queue_message(&cs[i]);
        if (flush_out(&cs[i]) > 0) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
            epoll_ctl(ep, EPOLL_CTL_MOD, cs[i].fd, &ev);
            cs[i].want_out = 1;
        }
    }

    struct epoll_event events[1024];
    uint64_t start = now_ns(), begin = start + (uint64_t)(warmup * 1e9), end = begin + (uint64_t)(seconds * 1e9);
    int live = conns;
    while (live > 0) {
        uint64_t t = now_ns();
        if (!measuring && t >= begin) { measuring = 1; messages = 0; memset(histogram, 0, sizeof histogram); }
        if (t >= end) break;
        int n = epoll_wait(ep, events, 1024, 100);
        for (int e = 0; e < n; e++) {
            conn_t *c = &cs[events[e].data.u32];
            if (c->fd < 0) continue;
            if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                // Read until a read comes back short: the socket is empty then, and epoll (level-triggered)
                // reports it again when more arrives. Reading on to EAGAIN would cost a system call a message.
                ssize_t got;
                while ((got = recv(c->fd, sink, sink_size, 0)) > 0) {
                    c->received += (size_t)got;
                    while (c->received >= (size_t)size && c->count > 0) {
                        c->received -= (size_t)size;
                        uint64_t rtt = now_ns() - c->sent_at[c->head];
                        c->head = (c->head + 1) % window;
                        c->count--;
                        if (measuring) { messages++; record(rtt / 1000); }
                        queue_message(c);
                    }
                    if ((size_t)got < sink_size) break;
                }
                if (got == 0 || (got < 0 && errno != EAGAIN)) {
                    errors++;
                    close(c->fd);
                    c->fd = -1;
                    live--;
                    continue;
                }
            }
            int pending = flush_out(c);
            if (pending < 0) { errors++; close(c->fd); c->fd = -1; live--; continue; }
            if ((pending > 0) != c->want_out) {
                c->want_out = pending > 0;
                struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.u32 = events[e].data.u32};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    double elapsed = (double)(now_ns() - begin) / 1e9;
    printf("msgs_per_s=%.0f mb_per_s=%.1f p50_us=%.0f p99_us=%.0f p999_us=%.0f errors=%llu conns=%d\n",
           (double)messages / elapsed, (double)messages * size / elapsed / 1e6,
           percentile(0.5, messages), percentile(0.99, messages), percentile(0.999, messages),
           (unsigned long long)errors, conns);
    return 0;
}
