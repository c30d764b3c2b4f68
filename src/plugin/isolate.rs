//! `--plugin-isolation process`: each plugin runs in child processes
//! (`callscope plugin-host`), one per call in flight, speaking the same ABI
//! on the child's side and length-prefixed frames over its stdin and stdout
//! with the run. A plugin that crashes, aborts, calls `exit` or never
//! returns costs that call its cells (and a `plugin.<name>` finding); the
//! run kills a child that outlives `--plugin-timeout` and starts a new one
//! for the next call.
//!
//! Frames: a little-endian u32 length, then the bytes. The run sends the
//! configs first (a JSON object, plugin name → config JSON); the host
//! answers with the plugin's description, or an error. Then requests: `A`
//! (analyze: call JSON, caller and bot tracks) or `S` (summarize: merged
//! stats JSON); each answer is an i32 status and the plugin's bytes.

use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{load, Backend, Plugin, Track};
use crate::analyze::Needs;

/// A frame never larger than this (the tracks of a ten-hour call fit).
const MAX_FRAME: usize = 4 << 30;

fn write_frame(w: &mut impl Write, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len).map_err(|_| io::Error::other("frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    for p in parts {
        w.write_all(p)?;
    }
    w.flush()
}

fn read_frame(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// What the host says of the plugin it loaded.
#[derive(Serialize, Deserialize)]
struct Hello {
    name: String,
    version: String,
    columns: Vec<String>,
    needs: Needs,
}

/// A cursor over a request's bytes.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(io::Error::other("short request"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn track(&mut self) -> io::Result<Option<(Vec<i16>, u32)>> {
        let rate = self.u32()?;
        let n = usize::try_from(self.u64()?).map_err(io::Error::other)?;
        let raw = self.take(
            n.checked_mul(2)
                .ok_or_else(|| io::Error::other("track too long"))?,
        )?;
        let samples = raw
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        Ok((rate > 0).then_some((samples, rate)))
    }
}

fn encode_track(out: &mut Vec<u8>, t: Option<(&[i16], u32)>) {
    let (s, rate) = t.unwrap_or((&[], 0));
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(bytemuck::cast_slice(s));
}

fn answer(status: i32, bytes: &[u8]) -> Vec<u8> {
    let mut v = status.to_le_bytes().to_vec();
    v.extend_from_slice(bytes);
    v
}

/// End this host when the run that started it is gone, however it ended (a
/// SIGKILL included): a plugin spinning in a host nobody waits for would
/// hold a core for good, and a spinning plugin never reads the stdin whose
/// end would tell it. (`PR_SET_PDEATHSIG` is not used: it fires when the
/// *thread* that started the host ends, and the run's worker threads end
/// before the hosts have run their plugins' `deinit`.)
fn die_with_the_run() {
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() };
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        // SAFETY: as above; _exit ends the process at once.
        unsafe {
            if libc::getppid() != parent {
                libc::_exit(1);
            }
        }
    });
}

/// `callscope plugin-host PATH`: serve one plugin over stdin and stdout
/// until stdin closes.
pub fn serve(path: &Path) -> io::Result<()> {
    die_with_the_run();
    // The protocol gets its own copy of stdout, and stdout itself goes to
    // stderr, so a plugin that prints cannot corrupt a frame.
    // SAFETY: dup and dup2 on the process's own standard descriptors.
    let proto = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        std::fs::File::from_raw_fd(fd)
    };
    let mut out = BufWriter::new(proto);
    let mut input = BufReader::new(io::stdin().lock());
    let configs: BTreeMap<String, String> =
        serde_json::from_slice(&read_frame(&mut input)?).map_err(io::Error::other)?;
    let plugin = match load(path, &|name| {
        configs.get(name).map(|c| c.clone().into_bytes())
    }) {
        Ok(p) => p,
        Err(e) => return write_frame(&mut out, &[b"E", e.as_bytes()]),
    };
    let hello = Hello {
        name: plugin.name.clone(),
        version: plugin.version.clone(),
        columns: plugin.columns.clone(),
        needs: plugin.needs,
    };
    let hello = serde_json::to_vec(&hello).map_err(io::Error::other)?;
    write_frame(&mut out, &[b"H", &hello])?;
    loop {
        let req = match read_frame(&mut input) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut f = Fields(&req);
        let (status, bytes) = match f.take(1)? {
            b"A" => {
                let json = f.bytes()?;
                let (caller, bot) = (f.track()?, f.track()?);
                plugin.backend.analyze(
                    json,
                    caller.as_ref().map(|(s, r)| (&s[..], *r)),
                    bot.as_ref().map(|(s, r)| (&s[..], *r)),
                )
            }
            b"S" => plugin.backend.summarize(f.bytes()?),
            _ => return Err(io::Error::other("unknown request")),
        }
        .map_err(io::Error::other)?;
        write_frame(&mut out, &[&answer(status, &bytes)])?;
    }
}

/// One child process and the thread that reads its answers.
struct Host {
    child: Child,
    /// Taken on drop: closing it tells the host to deinit and exit.
    stdin: Option<BufWriter<ChildStdin>>,
    answers: Receiver<io::Result<Vec<u8>>>,
}

/// How long a host that was asked to end may take over its plugin's
/// `deinit` before it is killed.
const DEINIT_GRACE: Duration = Duration::from_secs(5);

impl Host {
    fn spawn(exe: &Path, path: &Path, configs: &[u8]) -> Result<(Host, Vec<u8>), String> {
        let mut child = Command::new(exe)
            .arg("plugin-host")
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: cannot start its host process: {e}", path.display()))?;
        let stdin = BufWriter::new(child.stdin.take().expect("piped"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || loop {
            let frame = read_frame(&mut stdout);
            let end = frame.is_err();
            if tx.send(frame).is_err() || end {
                return;
            }
        });
        let mut host = Host {
            child,
            stdin: Some(stdin),
            answers,
        };
        let hello = host.ask(&[configs], Duration::from_secs(60))?;
        Ok((host, hello))
    }

    /// Send a request and wait for its answer, at most `timeout`.
    fn ask(&mut self, parts: &[&[u8]], timeout: Duration) -> Result<Vec<u8>, String> {
        let sent = match &mut self.stdin {
            Some(stdin) => write_frame(stdin, parts),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        };
        let got = match sent {
            Ok(()) => self.answers.recv_timeout(timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(Ok(frame)) => Ok(frame),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(format!(
                    "no answer within {} s: its process was killed (a new one serves the next call)",
                    timeout.as_secs_f64()
                ))
            }
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!(
                    "its process died ({status}); a new one serves the next call"
                ))
            }
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Closing stdin ends a healthy host, which runs the plugin's
        // `deinit` on its way out (a plugin may flush what it holds
        // there); one that has not ended within the grace is killed.
        drop(self.stdin.take());
        let deadline = Instant::now() + DEINIT_GRACE;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The run's side: a pool of host processes for one plugin.
pub(super) struct Isolated {
    exe: PathBuf,
    path: PathBuf,
    configs: Vec<u8>,
    timeout: Duration,
    idle: Mutex<Vec<Host>>,
}

impl Isolated {
    fn with_host(&self, request: &[&[u8]]) -> Result<(i32, Vec<u8>), String> {
        let idle = self.idle.lock().map_err(|_| "plugin pool poisoned")?.pop();
        let mut host = match idle {
            Some(h) => h,
            None => Host::spawn(&self.exe, &self.path, &self.configs)?.0,
        };
        let frame = host.ask(request, self.timeout)?;
        // Healthy: back to the pool for the next call.
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(host);
        }
        if frame.len() < 4 {
            return Err("its process sent a short answer".into());
        }
        let status = i32::from_le_bytes(frame[..4].try_into().expect("4 bytes"));
        Ok((status, frame[4..].to_vec()))
    }
}

impl Backend for Isolated {
    fn analyze(
        &self,
        call_json: &[u8],
        caller: Track,
        bot: Track,
    ) -> Result<(i32, Vec<u8>), String> {
        let mut req = Vec::with_capacity(call_json.len() + 32);
        req.extend_from_slice(&(call_json.len() as u32).to_le_bytes());
        req.extend_from_slice(call_json);
        encode_track(&mut req, caller);
        encode_track(&mut req, bot);
        self.with_host(&[b"A", &req])
    }

    fn summarize(&self, merged: &[u8]) -> Result<(i32, Vec<u8>), String> {
        let len = (merged.len() as u32).to_le_bytes();
        self.with_host(&[b"S", &len, merged])
    }
}

/// Load a plugin in host processes of its own, `exe plugin-host PATH` (the
/// callscope binary); the same checks as in process, and the same errors.
pub fn load_isolated(
    exe: &Path,
    path: &Path,
    configs: &BTreeMap<String, Vec<u8>>,
    timeout: Duration,
) -> Result<Plugin, String> {
    let as_text: BTreeMap<&String, String> = configs
        .iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(v).into_owned()))
        .collect();
    let configs = serde_json::to_vec(&as_text).map_err(|e| e.to_string())?;
    let (host, hello) = Host::spawn(exe, path, &configs)?;
    let (tag, body) = hello.split_first().ok_or("the plugin host said nothing")?;
    if *tag == b'E' {
        return Err(String::from_utf8_lossy(body).into_owned());
    }
    let hello: Hello =
        serde_json::from_slice(body).map_err(|e| format!("the plugin host's hello: {e}"))?;
    Ok(Plugin {
        path: path.to_path_buf(),
        name: hello.name,
        version: hello.version,
        columns: hello.columns,
        needs: hello.needs,
        backend: Box::new(Isolated {
            exe: exe.to_path_buf(),
            path: path.to_path_buf(),
            configs,
            timeout,
            idle: Mutex::new(vec![host]),
        }),
    })
}
