{
  "targets": [
    {
      "target_name": "lanwatch_netlink",
      "sources": ["src/netlinkSocket.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
