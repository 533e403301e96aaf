/*
 * listener.c - the LISTEN sockets on a port and the processes holding
 * them, from /proc (listener.h).
 */
#include "listener.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTENER_MAX 64 /* sockets on one port (SO_REUSEPORT groups) */

struct procent {
    pid_t pid, ppid, pgrp;
};

/* /proc/net/tcp's addresses, as the kernel prints them (per 32-bit word,
 * host order: 127.0.0.1 is 0100007F on x86). */
static int listener_addr_in_scope(const char *addr, enum listener_scope scope)
{
    static const char *const v4[] = {"0100007F", "00000000"};
    static const char *const v6[] = {"00000000000000000000000000000000",
                                     "0000000000000000FFFF00000100007F"};
    static const char *const v6_lo = "00000000000000000000000001000000";
    size_t n = strlen(addr);
    for (size_t i = 0; i < 2; i++)
        if (!strcasecmp(addr, n == 8 ? v4[i] : v6[i]))
            return 1;
    return scope == LISTENER_ANY && n == 32 && !strcasecmp(addr, v6_lo);
}

/* Inodes of the LISTEN sockets on port in one /proc/net file (*read set
 * when the file could be read). */
static int listener_inodes(const char *file, int port, enum listener_scope scope,
                           unsigned long *inodes, int n, int *read)
{
    char line[512], addr[64];
    unsigned lport, st;
    unsigned long inode;
    FILE *f = fopen(file, "re");
    if (!f)
        return n;
    *read = 1;
    while (fgets(line, sizeof(line), f) && n < LISTENER_MAX) {
        if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*d %lu", addr, &lport,
                   &st, &inode) == 4 &&
            st == 0x0A && (int)lport == port && inode && listener_addr_in_scope(addr, scope))
            inodes[n++] = inode;
    }
    fclose(f);
    return n;
}

/* pid, ppid and process group of every process. */
static struct procent *listener_procs(int *count)
{
    struct procent *v = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    DIR *d = opendir("/proc");
    while (d && (e = readdir(d))) {
        char path[64], buf[512], *close_paren;
        FILE *f;
        struct procent pe;
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/stat", atol(e->d_name));
        f = fopen(path, "re");
        if (!f)
            continue;
        /* comm may hold spaces and parentheses: parse after the last ')' */
        close_paren = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
        fclose(f);
        pe.pid = (pid_t)atol(e->d_name);
        if (!close_paren || sscanf(close_paren + 1, " %*c %d %d", &pe.ppid, &pe.pgrp) != 2)
            continue;
        if (n == cap) {
            struct procent *nv = realloc(v, (size_t)(cap = cap ? cap * 2 : 256) * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = pe;
    }
    if (d)
        closedir(d);
    *count = n;
    return v;
}

/* Mark root, its process group and their descendants. */
static void listener_tree(const struct procent *p, int n, pid_t root, char *in)
{
    int grew = 1;
    for (int i = 0; i < n; i++)
        in[i] = root > 0 && (p[i].pid == root || p[i].pgrp == root);
    while (grew) {
        grew = 0;
        for (int i = 0; i < n; i++) {
            if (in[i])
                continue;
            for (int j = 0; j < n && !in[i]; j++)
                if (in[j] && p[j].pid == p[i].ppid)
                    in[i] = grew = 1;
        }
    }
}

/* Does pid hold a descriptor on socket inode?  -1 when unreadable. */
static int listener_holds(pid_t pid, unsigned long inode)
{
    char path[64], link[64], want[40];
    struct dirent *e;
    int found = 0;
    DIR *d;
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    d = opendir(path);
    if (!d)
        return -1;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while (!found && (e = readdir(d))) {
        char fd[128];
        ssize_t len;
        if (e->d_name[0] == '.')
            continue;
        snprintf(fd, sizeof(fd), "%s/%ld", path, atol(e->d_name));
        len = readlink(fd, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        found = strcmp(link, want) == 0;
    }
    closedir(d);
    return found;
}

static void listener_name(pid_t pid, char *who, size_t len)
{
    char path[64], comm[64] = "?";
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
    f = fopen(path, "re");
    if (f) {
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    snprintf(who, len, "pid %ld (%s)", (long)pid, comm);
}

enum listener_verdict listener_check(int port, enum listener_scope scope, pid_t root, char *who,
                                     size_t wholen)
{
    unsigned long inodes[LISTENER_MAX];
    enum listener_verdict v = LISTENER_OURS;
    struct procent *procs;
    char *in = NULL;
    int read = 0, np = 0;
    int n = listener_inodes("/proc/net/tcp", port, scope, inodes, 0, &read);
    n = listener_inodes("/proc/net/tcp6", port, scope, inodes, n, &read);
    if (!read)
        return LISTENER_OURS; /* no /proc/net here: nothing to check against */
    if (n == 0)
        return LISTENER_NONE;
    procs = listener_procs(&np);
    in = calloc((size_t)np + 1, 1);
    if (!procs || !in) {
        snprintf(who, wholen, "a process wedge cannot see (out of memory)");
        v = LISTENER_FOREIGN;
        goto out;
    }
    listener_tree(procs, np, root, in);
    for (int k = 0; k < n && v == LISTENER_OURS; k++) {
        int ours = 0;
        for (int i = 0; i < np && !ours; i++)
            ours = in[i] && listener_holds(procs[i].pid, inodes[k]) == 1;
        if (ours)
            continue;
        v = LISTENER_FOREIGN;
        snprintf(who, wholen, "a process wedge cannot see (another user's?)");
        for (int i = 0; i < np; i++)
            if (!in[i] && listener_holds(procs[i].pid, inodes[k]) == 1) {
                listener_name(procs[i].pid, who, wholen);
                break;
            }
    }
out:
    free(procs);
    free(in);
    return v;
}
