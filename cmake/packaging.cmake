# CPack: a Debian package for users without containers (filled in by the deploy work).
