/**
 * Top-level Python modules whose globals are never accepted as "module
 * containers" when reading a pickle. This is the Python 3.11 standard library
 * (`sys.stdlib_module_names`, public names), Python 2 names that old pickles
 * use (`__builtin__`, `copy_reg`, ...), and third-party packages that either
 * offer code execution or are not model code (numpy, dill, ...).
 *
 * The reader never calls anything a pickle names: this list only makes sure
 * that a pickle that tries to reach such a module is refused loudly instead of
 * being read as a harmless container. `torch` and `collections` are handled
 * separately by an explicit allow-list in policy.ts. Any top-level module
 * whose name starts with an underscore (`_io`, `_posixsubprocess`, ...) except
 * `__main__` is denied as well (see policy.ts).
 */
export const DENIED_TOP_LEVEL_MODULES: ReadonlySet<string> = new Set([
  'Bastion', 'ConfigParser', 'Cookie', 'HTMLParser', 'IPython', 'Queue', 'SocketServer',
  'StringIO', '__builtin__', '_pytest', 'abc', 'aifc', 'aiohttp', 'antigravity', 'argparse',
  'array', 'ast', 'asynchat', 'asyncio', 'asyncore', 'atexit', 'audioop', 'base64', 'bdb',
  'binascii', 'bisect', 'boto3', 'botocore', 'builtins', 'bz2', 'cPickle', 'cProfile', 'cStringIO',
  'calendar', 'celery', 'cgi', 'cgitb', 'chunk', 'cloudpickle', 'cmath', 'cmd', 'code', 'codecs',
  'codeop', 'collections', 'colorsys', 'commands', 'compileall', 'compiler', 'concurrent',
  'configparser', 'contextlib', 'contextvars', 'cookielib', 'copy', 'copy_reg', 'copyreg', 'crypt',
  'csv', 'ctypes', 'curses', 'dataclasses', 'datetime', 'dbm', 'decimal', 'difflib', 'dill',
  'dircache', 'dis', 'distutils', 'docker', 'doctest', 'dummy_thread', 'email', 'encodings',
  'ensurepip', 'enum', 'errno', 'eventlet', 'exceptions', 'fabric', 'faulthandler', 'fcntl',
  'filecmp', 'fileinput', 'fnmatch', 'fractions', 'ftplib', 'functools', 'gc', 'genericpath',
  'getopt', 'getpass', 'gettext', 'gevent', 'git', 'glob', 'graphlib', 'grp', 'gzip', 'hashlib',
  'heapq', 'hmac', 'html', 'htmllib', 'http', 'httplib', 'httpx', 'idlelib', 'ihooks', 'imaplib',
  'imghdr', 'imp', 'importlib', 'imputil', 'inspect', 'invoke', 'io', 'ipaddress', 'ipykernel',
  'itertools', 'jax', 'jinja2', 'joblib', 'json', 'jupyter_client', 'keras', 'keyword', 'lib2to3',
  'linecache', 'locale', 'logging', 'lzma', 'mailbox', 'mailcap', 'mako', 'marshal', 'math', 'md5',
  'mhlib', 'mimetools', 'mimetypes', 'mmap', 'modulefinder', 'msilib', 'msvcrt', 'multifile',
  'multiprocessing', 'netrc', 'new', 'nis', 'nntplib', 'nose', 'nt', 'ntpath', 'nturl2path',
  'numbers', 'numpy', 'opcode', 'operator', 'optparse', 'os', 'ossaudiodev', 'pandas', 'paramiko',
  'pathlib', 'pdb', 'pexpect', 'pickle', 'pickletools', 'pip', 'pipes', 'pkg_resources', 'pkgutil',
  'platform', 'plistlib', 'plumbum', 'popen2', 'poplib', 'posix', 'posixfile', 'posixpath',
  'pprint', 'profile', 'pstats', 'psutil', 'pty', 'ptyprocess', 'pwd', 'py_compile', 'pyclbr',
  'pydoc', 'pydoc_data', 'pyexpat', 'pytest', 'queue', 'quopri', 'random', 're', 'readline',
  'redis', 'reprlib', 'requests', 'resource', 'rexec', 'rfc822', 'rlcompleter', 'runpy', 'sched',
  'scipy', 'secrets', 'select', 'selectors', 'sets', 'setuptools', 'sgmllib', 'sh', 'sha',
  'shelve', 'shlex', 'shutil', 'signal', 'site', 'sklearn', 'smtpd', 'smtplib', 'sndhdr', 'socket',
  'socketserver', 'spwd', 'sqlite3', 'sre_compile', 'sre_constants', 'sre_parse', 'ssl', 'stat',
  'statistics', 'statvfs', 'string', 'stringprep', 'struct', 'subprocess', 'sunau', 'sympy',
  'symtable', 'sys', 'sysconfig', 'syslog', 'tabnanny', 'tarfile', 'telnetlib', 'tempfile',
  'tensorflow', 'termios', 'textwrap', 'this', 'thread', 'threading', 'time', 'timeit', 'tkinter',
  'token', 'tokenize', 'tomllib', 'tornado', 'trace', 'traceback', 'tracemalloc', 'tty', 'turtle',
  'turtledemo', 'twisted', 'types', 'typing', 'unicodedata', 'unittest', 'urllib', 'urllib2',
  'urllib3', 'urlparse', 'user', 'uu', 'uuid', 'venv', 'warnings', 'wave', 'weakref', 'webbrowser',
  'winreg', 'winsound', 'wsgiref', 'xdrlib', 'xml', 'xmllib', 'xmlrpc', 'yaml', 'zipapp',
  'zipfile', 'zipimport', 'zlib', 'zoneinfo',
]);
