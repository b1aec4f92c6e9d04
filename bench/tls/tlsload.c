// tlsload: the TLS load generator of bench/tls/run.sh (OpenSSL, the client most TLS servers meet).
//
//   tlsload HOST PORT MODE SECONDS [N] [SIZE]
//     full    N threads, each in a loop: connect, a full handshake (no session offered), one byte
//             echoed (so the handshake is really over, tickets included), close_notify, close.
//             Prints handshakes per second.
//     resume  as full, but each thread offers the session of its previous connection; prints
//             handshakes per second and how many of them the server resumed (all must be).
//     echo    N connections on one epoll thread, each sending SIZE bytes and waiting for them to
//             come back before sending again (a window of one); prints messages per second.
//   Environment: TLS_VERSION=1.2 or 1.3 (default 1.3), WARMUP seconds before counting (default 1).
// Output, one line: "MODE RATE count=C errors=E resumed=R": C operations counted, R of them resumed handshakes.
// The server's certificate is not verified: this measures the server, not the trust model.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;
static SSL_CTX *ctx;
static atomic_long done_ops, errors, resumed;
static atomic_int stopping;
static int message_size = 1024;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_tcp(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// One connection of the handshake modes. Returns the session to offer next time (resume mode).
static SSL_SESSION *handshake_once(SSL_SESSION *offer, int keep_session) {
    int fd = connect_tcp();
    if (fd < 0) {
        atomic_fetch_add(&errors, 1);
        return offer;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (offer) SSL_set_session(ssl, offer);
    SSL_SESSION *next = offer;
    char byte = 'x';
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, &byte, 1) == 1 && SSL_read(ssl, &byte, 1) == 1) {
        if (!atomic_load(&stopping)) {
            atomic_fetch_add(&done_ops, 1);
            if (SSL_session_reused(ssl)) atomic_fetch_add(&resumed, 1);
        }
        if (keep_session) {
            SSL_SESSION *got = SSL_get1_session(ssl);
            if (got) {
                if (offer) SSL_SESSION_free(offer);
                next = got;
            }
        }
        SSL_shutdown(ssl);
    } else {
        atomic_fetch_add(&errors, 1);
        ERR_clear_error();
    }
    SSL_free(ssl);
    close(fd);
    return next;
}

static void *handshake_loop(void *arg) {
    int keep_session = *(int *)arg;
    SSL_SESSION *session = NULL;
    while (!atomic_load(&stopping)) session = handshake_once(session, keep_session);
    if (session) SSL_SESSION_free(session);
    return NULL;
}

struct conn {
    SSL *ssl;
    int fd;
    int received; // bytes of the current message's echo so far
};

static int send_message(struct conn *c, const char *payload) {
    int n = SSL_write(c->ssl, payload, message_size);
    return n == message_size ? 0 : -1;
}

static void *echo_loop(void *arg) {
    int count = *(int *)arg;
    int ep = epoll_create1(0);
    struct conn *conns = calloc(count, sizeof *conns);
    char *payload = malloc(message_size), *sink = malloc(65536);
    memset(payload, 'a', message_size);
    for (int i = 0; i < count; i++) {
        conns[i].fd = connect_tcp();
        if (conns[i].fd < 0) { fprintf(stderr, "tlsload: connect: %s\n", strerror(errno)); exit(1); }
        conns[i].ssl = SSL_new(ctx);
        SSL_set_fd(conns[i].ssl, conns[i].fd);
        if (SSL_connect(conns[i].ssl) != 1) { fprintf(stderr, "tlsload: handshake failed\n"); ERR_print_errors_fp(stderr); exit(1); }
        fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        if (send_message(&conns[i], payload) != 0) atomic_fetch_add(&errors, 1);
    }
    struct epoll_event events[256];
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            for (;;) {
                int got = SSL_read(c->ssl, sink, 65536);
                if (got <= 0) {
                    int e = SSL_get_error(c->ssl, got);
                    if (e != SSL_ERROR_WANT_READ) { atomic_fetch_add(&errors, 1); epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
                    break;
                }
                c->received += got;
                while (c->received >= message_size) {
                    c->received -= message_size;
                    atomic_fetch_add(&done_ops, 1);
                    if (send_message(c, payload) != 0) atomic_fetch_add(&errors, 1);
                }
            }
        }
    }
    for (int i = 0; i < count; i++) {
        SSL_free(conns[i].ssl);
        close(conns[i].fd);
    }
    free(conns);
    free(payload);
    free(sink);
    close(ep);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: tlsload HOST PORT full|resume|echo SECONDS [N] [SIZE]\n");
        return 2;
    }
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1) { fprintf(stderr, "tlsload: bad host %s\n", argv[1]); return 2; }
    const char *mode = argv[3];
    double seconds = atof(argv[4]);
    int n = argc > 5 ? atoi(argv[5]) : (strcmp(mode, "echo") == 0 ? 64 : 4);
    if (argc > 6) message_size = atoi(argv[6]);
    const char *version = getenv("TLS_VERSION");
    const char *warmup_text = getenv("WARMUP");
    double warmup = warmup_text ? atof(warmup_text) : 1;

    ctx = SSL_CTX_new(TLS_client_method());
    int v = version && strcmp(version, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    // The client keeps its own session per thread (SSL_get1_session); no internal cache needed.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);

    int is_echo = strcmp(mode, "echo") == 0, keep = strcmp(mode, "resume") == 0;
    if (!is_echo && !keep && strcmp(mode, "full") != 0) { fprintf(stderr, "tlsload: unknown mode %s\n", mode); return 2; }
    int threads = is_echo ? 1 : n;
    pthread_t *ids = calloc(threads, sizeof *ids);
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, is_echo ? echo_loop : handshake_loop, is_echo ? (void *)&n : (void *)&keep);

    struct timespec pause = { (time_t)warmup, (long)((warmup - (time_t)warmup) * 1e9) };
    nanosleep(&pause, NULL);
    long ops0 = atomic_load(&done_ops), resumed0 = atomic_load(&resumed), errors0 = atomic_load(&errors);
    double t0 = now();
    struct timespec run = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
    nanosleep(&run, NULL);
    long ops = atomic_load(&done_ops) - ops0, res = atomic_load(&resumed) - resumed0, errs = atomic_load(&errors) - errors0;
    double elapsed = now() - t0;
    atomic_store(&stopping, 1);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    printf("%s %.0f count=%ld errors=%ld resumed=%ld\n", mode, ops / elapsed, ops, errs, res);
    return 0;
}
