// ftpload: the FTP load generator of bench/ftp/run.sh. Many sessions on one epoll thread, each a small
// state machine driven by the server's replies (RFC 959 §4.2, multi-line replies included), so that
// hundreds of clients cost the load side little: no thread, no process and no interpreter per client.
//
//   ftpload HOST PORT USER MODE N [PATH]
//     login  N sessions connect at once and log in (USER, PASS), then QUIT. Seconds: from the first
//            connect to the last 230.
//     retr   N sessions connect and log in (not timed); when all are in, each sends TYPE I and EPSV,
//            connects to the port named, sends RETR PATH, reads the data to its end (256 KiB reads)
//            and waits for the 226. Seconds: from the first TYPE I to the last 226.
//     idle   N sessions connect and log in, then the line "ready N" is printed and they stay logged
//            in, silent, until stdin closes; then each QUITs. Seconds: the logins.
//   Environment: FTPLOAD_PASSWORD (the password: not on the command line), TIMEOUT (seconds for the
//   whole run, default 300), STALL (seconds a session may wait for a reply or data before it counts as
//   failed, default 30: a connection dropped by a full listen backlog never hears back, and without
//   this the run would wait out TIMEOUT), RAMP (at most this many sessions connecting or waiting for
//   their greeting at a time, the next one opened as one is greeted; default 0, all N at once: a server
//   whose listen backlog is shorter than N loses some of them, and RAMP below it measures the server's
//   logins rather than its backlog).
// Output, one line on stdout: "MODE SECONDS count=C errors=E bytes=B cpu=S", C sessions that did all
// they were asked, E that failed (the first few reasons go to stderr), B data bytes received, S the
// CPU seconds (user + system) this process used, to show it was not the limit.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { LOGIN, RETR, IDLE };
enum state { CONNECTING, GREETING, USER_SENT, PASS_SENT, LOGGED_IN, TYPE_SENT, EPSV_SENT, RETR_SENT, QUIT_SENT, FINISHED };

struct session;
struct endpoint {
    struct session *session;
    int is_data;
};

struct session {
    int control, data;
    enum state state;
    int opened;                  // connected (under RAMP, sessions are opened a few at a time)
    int transfer_ok, data_ended; // the 226 came; the data connection reached its end
    double progress;             // when it last sent, or received anything
    char reply[4096];
    int reply_length;
    struct endpoint control_end, data_end;
};

static enum mode mode;
static const char *user, *password, *path;
static struct sockaddr_in server;
static int epoll_fd, sessions_count, finished, failed, logged_in;
static int ramp, opened, greeting_pending; // RAMP; sessions opened so far; of them, not greeted yet
static long long data_bytes;
static double started, last_event;
static struct session *sessions;
static char sink[256 * 1024];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void close_fd(int *fd) {
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void finish(struct session *s) {
    if (s->state == CONNECTING || s->state == GREETING) greeting_pending--;
    close_fd(&s->data);
    close_fd(&s->control);
    s->state = FINISHED;
    finished++;
}

static void fail(struct session *s, const char *why) {
    if (s->state == FINISHED) return;
    if (failed < 5) fprintf(stderr, "ftpload: session %d: %s\n", (int)(s - sessions), why);
    failed++;
    finish(s);
}

static int send_line(struct session *s, const char *verb, const char *argument) {
    char line[1100];
    int n = argument ? snprintf(line, sizeof line, "%s %s\r\n", verb, argument) : snprintf(line, sizeof line, "%s\r\n", verb);
    // A command line is a few bytes on a socket whose buffer is empty: it never blocks in practice,
    // and a short write would be a broken server, counted as a failure.
    if (send(s->control, line, n, MSG_NOSIGNAL) != n) {
        fail(s, "cannot send a command");
        return -1;
    }
    s->progress = now();
    return 0;
}

// One whole reply at the start of the buffer: its code, and the bytes it takes; 0 when incomplete.
static int take_reply(struct session *s, int *code) {
    char *start = s->reply, *end = s->reply + s->reply_length;
    char *eol = memchr(start, '\n', end - start);
    if (!eol) return 0;
    if (eol - start < 3) return -1;
    int value = (start[0] - '0') * 100 + (start[1] - '0') * 10 + (start[2] - '0');
    if (eol - start > 3 && start[3] == '-') {
        // Multi-line: it ends at a line that starts with the same code and a space.
        char *line = eol + 1;
        for (;;) {
            char *next = memchr(line, '\n', end - line);
            if (!next) return 0;
            if (next - line >= 4 && memcmp(line, start, 3) == 0 && line[3] == ' ') {
                eol = next;
                break;
            }
            line = next + 1;
        }
    }
    *code = value;
    return (int)(eol + 1 - start);
}

static void watch(int fd, struct endpoint *end, unsigned events, int op) {
    struct epoll_event ev = { .events = events, .data.ptr = end };
    epoll_ctl(epoll_fd, op, fd, &ev);
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in to = server;
    to.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void start_transfer(struct session *s) {
    if (send_line(s, "TYPE", "I") == 0) s->state = TYPE_SENT;
}

static void on_logged_in(struct session *s) {
    s->state = LOGGED_IN;
    logged_in++;
    last_event = now();
    if (mode == LOGIN && send_line(s, "QUIT", NULL) == 0) s->state = QUIT_SENT;
}

static void transfer_step(struct session *s) {
    if (s->transfer_ok && s->data_ended) {
        last_event = now();
        if (send_line(s, "QUIT", NULL) == 0) s->state = QUIT_SENT;
    }
}

static int epsv_port(const char *reply) {
    // 229 Entering Extended Passive Mode (|||port|), the delimiter being any one character (RFC 2428 §3).
    const char *open = strchr(reply, '(');
    if (!open || !open[1] || open[2] != open[1] || open[3] != open[1]) return -1;
    char *after;
    long port = strtol(open + 4, &after, 10);
    return (after != open + 4 && *after == open[1] && port > 0 && port < 65536) ? (int)port : -1;
}

static void on_reply(struct session *s, int code, const char *text) {
    char why[160];
    switch (s->state) {
    case GREETING:
        if (code == 120) return;
        if (code != 220) break;
        greeting_pending--;
        s->state = USER_SENT;
        send_line(s, "USER", user);
        return;
    case USER_SENT:
        if (code == 230) { on_logged_in(s); return; }
        if (code != 331) break;
        if (send_line(s, "PASS", password) == 0) s->state = PASS_SENT;
        return;
    case PASS_SENT:
        if (code != 230) break;
        on_logged_in(s);
        return;
    case TYPE_SENT:
        if (code != 200) break;
        if (send_line(s, "EPSV", NULL) == 0) s->state = EPSV_SENT;
        return;
    case EPSV_SENT: {
        int port = code == 229 ? epsv_port(text) : -1;
        if (port < 0) break;
        s->data = connect_to(port);
        if (s->data < 0) { fail(s, "cannot connect the data connection"); return; }
        watch(s->data, &s->data_end, EPOLLIN, EPOLL_CTL_ADD);
        if (send_line(s, "RETR", path) == 0) s->state = RETR_SENT;
        return;
    }
    case RETR_SENT:
        if (code == 150 || code == 125) return;
        if (code != 226 && code != 250) break;
        s->transfer_ok = 1;
        transfer_step(s);
        return;
    case QUIT_SENT:
        finish(s);
        return;
    default:
        break;
    }
    snprintf(why, sizeof why, "unexpected reply in state %d: %.100s", (int)s->state, text);
    why[strcspn(why, "\r\n")] = 0;
    fail(s, why);
}

static void on_control(struct session *s, unsigned events) {
    if (s->state == CONNECTING) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(s->control, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) { fail(s, strerror(error)); return; }
        s->state = GREETING;
        watch(s->control, &s->control_end, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
    for (;;) {
        if (s->reply_length == (int)sizeof s->reply) { fail(s, "a reply longer than 4 KiB"); return; }
        ssize_t n = recv(s->control, s->reply + s->reply_length, sizeof s->reply - s->reply_length, 0);
        if (n == 0) {
            if (s->state == QUIT_SENT) finish(s); else fail(s, "the server closed the control connection");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN) break;
            if (s->state == QUIT_SENT) finish(s); else fail(s, strerror(errno));
            return;
        }
        s->reply_length += (int)n;
        s->progress = now();
        int code, taken;
        while (s->state != FINISHED && (taken = take_reply(s, &code)) != 0) {
            if (taken < 0) { fail(s, "a reply line without a code"); return; }
            char text[128];
            int copy = taken < (int)sizeof text - 1 ? taken : (int)sizeof text - 1;
            memcpy(text, s->reply, copy);
            text[copy] = 0;
            memmove(s->reply, s->reply + taken, s->reply_length - taken);
            s->reply_length -= taken;
            on_reply(s, code, text);
        }
        if (s->state == FINISHED) return;
    }
    (void)events;
}

static void on_data(struct session *s) {
    for (;;) {
        ssize_t n = recv(s->data, sink, sizeof sink, 0);
        if (n > 0) { data_bytes += n; s->progress = now(); continue; }
        if (n < 0 && errno == EAGAIN) return;
        if (n < 0) { fail(s, "the data connection failed"); return; }
        close_fd(&s->data);
        s->data_ended = 1;
        transfer_step(s);
        return;
    }
}

// Opens sessions until all are, or (under RAMP) until RAMP of them are waiting for their greeting.
static void open_more(void) {
    while (opened < sessions_count && (ramp <= 0 || greeting_pending < ramp)) {
        struct session *s = &sessions[opened++];
        s->opened = 1;
        s->progress = now();
        greeting_pending++;
        s->control = connect_to(ntohs(server.sin_port));
        if (s->control < 0) { fail(s, strerror(errno)); continue; }
        watch(s->control, &s->control_end, EPOLLOUT, EPOLL_CTL_ADD);
    }
}

static void quit_all(void) {
    for (int i = 0; i < sessions_count; i++) {
        struct session *s = &sessions[i];
        if (s->state == LOGGED_IN && send_line(s, "QUIT", NULL) == 0) s->state = QUIT_SENT;
    }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: ftpload HOST PORT USER login|retr|idle N [PATH]  (password in FTPLOAD_PASSWORD)\n");
        return 2;
    }
    user = argv[3];
    password = getenv("FTPLOAD_PASSWORD");
    mode = strcmp(argv[4], "login") == 0 ? LOGIN : strcmp(argv[4], "retr") == 0 ? RETR : strcmp(argv[4], "idle") == 0 ? IDLE : -1;
    sessions_count = atoi(argv[5]);
    path = argc > 6 ? argv[6] : NULL;
    if ((int)mode < 0 || sessions_count < 1 || !password || (mode == RETR && !path)) {
        fprintf(stderr, "ftpload: bad arguments (a mode of login, retr or idle; N at least 1; PATH for retr; FTPLOAD_PASSWORD set)\n");
        return 2;
    }
    server.sin_family = AF_INET;
    server.sin_port = htons(atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1) {
        fprintf(stderr, "ftpload: HOST must be an IPv4 address\n");
        return 2;
    }
    double timeout = getenv("TIMEOUT") ? atof(getenv("TIMEOUT")) : 300;
    double stall = getenv("STALL") ? atof(getenv("STALL")) : 30;

    // Two descriptors a session at most: raise the soft limit to the hard one.
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }

    epoll_fd = epoll_create1(0);
    sessions = calloc(sessions_count, sizeof *sessions);
    ramp = getenv("RAMP") ? atoi(getenv("RAMP")) : 0;
    for (int i = 0; i < sessions_count; i++) {
        sessions[i].data = sessions[i].control = -1;
        sessions[i].control_end = (struct endpoint){ &sessions[i], 0 };
        sessions[i].data_end = (struct endpoint){ &sessions[i], 1 };
    }
    started = now();
    open_more();

    int all_in = 0, quitting = 0;
    struct endpoint stdin_end = { NULL, 0 };
    struct epoll_event events[512];
    double deadline = now() + timeout, stall_check = now();
    static const char *const state_names[] = { "connecting", "waiting for the greeting", "after USER", "after PASS",
        "logged in", "after TYPE", "after EPSV", "during RETR", "after QUIT", "finished" };
    while (finished < sessions_count) {
        if (now() - stall_check >= 1) {
            // Once a second: a session waiting on the server (not a logged-in one waiting for the others,
            // or for stdin) that has heard nothing for STALL seconds has failed.
            stall_check = now();
            for (int i = 0; i < sessions_count; i++) {
                struct session *s = &sessions[i];
                if (!s->opened || s->state == FINISHED || s->state == LOGGED_IN || stall_check - s->progress < stall) continue;
                char why[160];
                snprintf(why, sizeof why, "nothing from the server for %.0f s, %s (a full listen backlog drops connections unseen)",
                    stall, state_names[s->state]);
                fail(s, why);
            }
        }
        open_more();
        if (!all_in && logged_in + failed == sessions_count) {
            all_in = 1;
            if (mode == RETR) {
                // All are in: the transfers start together, and the clock with them.
                started = now();
                for (int i = 0; i < sessions_count; i++)
                    if (sessions[i].state == LOGGED_IN) start_transfer(&sessions[i]);
            } else if (mode == IDLE) {
                printf("ready %d\n", logged_in);
                fflush(stdout);
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &stdin_end };
                if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, 0, &ev) != 0) { quit_all(); quitting = 1; }
            }
        }
        int wait_ms = (int)((deadline - now()) * 1000);
        if (wait_ms <= 0) {
            fprintf(stderr, "ftpload: timed out after %.0f s with %d of %d sessions finished\n", timeout, finished, sessions_count);
            for (int i = 0; i < sessions_count; i++)
                if (sessions[i].state != FINISHED) fail(&sessions[i], "timed out");
            break;
        }
        int n = epoll_wait(epoll_fd, events, 512, wait_ms < 1000 ? wait_ms : 1000);
        for (int i = 0; i < n; i++) {
            struct endpoint *end = events[i].data.ptr;
            if (end == &stdin_end) {
                char discard[256];
                if (read(0, discard, sizeof discard) <= 0 && !quitting) {
                    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, 0, NULL);
                    quit_all();
                    quitting = 1;
                }
                continue;
            }
            struct session *s = end->session;
            if (s->state == FINISHED) continue;
            if (end->is_data) {
                if (s->data >= 0) on_data(s);
            } else if (s->control >= 0) {
                on_control(s, events[i].events);
            }
        }
    }

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    printf("%s %.3f count=%d errors=%d bytes=%lld cpu=%.3f\n", argv[4], last_event > started ? last_event - started : 0.0, sessions_count - failed, failed, data_bytes, cpu);
    return failed ? 1 : 0;
}
