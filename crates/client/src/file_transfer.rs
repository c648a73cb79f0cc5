//! [`Client`]'s attachments: a file sealed here, uploaded to the server's blob store piece
//! by piece and sent as a MIMI external part; and a received one fetched, checked against
//! the hash its sender sent and decrypted, before any of it is shown or written out.

use std::io::Write;
use std::path::Path;

use conclave_content::ExternalPart;
use conclave_storage::{ConversationId, MessageId, MessageKind};

use crate::attachment::{
    AES_128_GCM, FileCipher, PLAIN_PIECE, SHA_256, blob_of, content_type, pieces, sealed_size,
};
use crate::engine::{Action, check_writable, queue_action};
use crate::{Client, ClientError, Result};

/// An attachment's card: what the UI shows before it is fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// The file's name, as its sender gave it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type.
    pub content_type: String,
}

impl Client {
    /// Sends a file: sealed under a fresh key, uploaded (reporting `progress(done, total)`
    /// in bytes), then sent as an attachment message. The upload needs the server; the
    /// message, once the file is up, is queued like any other.
    pub async fn send_file(
        &self,
        conversation: ConversationId,
        path: &Path,
        progress: impl FnMut(u64, u64) + Send,
    ) -> Result<MessageId> {
        check_writable(&self.inner().store, conversation)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let io = |e: std::io::Error| ClientError::InvalidInput(format!("{}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        self.send_attachment(conversation, name, size, file, progress)
            .await
    }

    /// Sends `bytes` as a file named `name`, as [`Client::send_file`] does: for what never
    /// was a file, such as an image pasted from the clipboard, which must not be written out
    /// in the clear to be sent.
    pub async fn send_bytes(
        &self,
        conversation: ConversationId,
        name: &str,
        bytes: &[u8],
        progress: impl FnMut(u64, u64) + Send,
    ) -> Result<MessageId> {
        check_writable(&self.inner().store, conversation)?;
        self.send_attachment(
            conversation,
            name.to_owned(),
            bytes.len() as u64,
            bytes,
            progress,
        )
        .await
    }

    async fn send_attachment(
        &self,
        conversation: ConversationId,
        name: String,
        size: u64,
        mut source: impl std::io::Read + Send,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<MessageId> {
        let io = |e: std::io::Error| ClientError::InvalidInput(format!("{name}: {e}"));
        let (mut cipher, key) = FileCipher::fresh();
        let ds = &self.inner().ds;
        let blob = ds.create_blob(sealed_size(size)).await?;
        let mut buffer = vec![0u8; PLAIN_PIECE];
        let mut done = 0u64;
        for index in 0..pieces(size) {
            let want = (size - done).min(PLAIN_PIECE as u64) as usize;
            source.read_exact(&mut buffer[..want]).map_err(io)?;
            let sealed = cipher.seal(index, &buffer[..want]);
            ds.put_blob_chunk(&blob.id, index as u32, sealed).await?;
            done += want as u64;
            progress(done, size);
        }
        let nonce = cipher.nonce();
        let part = ExternalPart {
            content_type: content_type(&name).to_owned(),
            url: format!("{}{}", self.server(), conclave_delivery_api::paths::BLOBS)
                + "/"
                + &blob.id,
            expires: 0,
            size,
            enc_alg: AES_128_GCM,
            key: key.to_vec(),
            nonce: nonce.to_vec(),
            aad: Vec::new(),
            hash_alg: SHA_256,
            content_hash: cipher.hash().to_vec(),
            description: String::new(),
            filename: name,
        };
        let inner = self.inner();
        let queued = queue_action(
            &inner.store,
            &inner.identity,
            conversation,
            Action::File {
                file: Box::new(part),
            },
        )?;
        let id = queued.stored.as_ref().map(|m| m.id);
        for event in queued.events {
            self.emit(event);
        }
        let mut engine = inner.engine.lock().await;
        match engine.flush_outbox().await {
            Ok(_) => {}
            Err(e) if e.is_offline() => {}
            Err(e) => return Err(e),
        }
        id.ok_or_else(|| ClientError::InvalidInput("nothing was stored".into()))
    }

    /// An attachment message's card, or `None` for a message that is not one.
    pub async fn attachment(&self, message: MessageId) -> Result<Option<AttachmentInfo>> {
        Ok(self.part(message).await?.map(|part| AttachmentInfo {
            name: part.filename,
            size: part.size,
            content_type: part.content_type,
        }))
    }

    /// Fetches an attachment into `out` (created with the file's bytes only once all of them
    /// arrived and matched the hash its sender sent; nothing is left behind otherwise).
    pub async fn save_file(
        &self,
        message: MessageId,
        out: &Path,
        progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64> {
        let io = |e: std::io::Error| ClientError::InvalidInput(format!("{}: {e}", out.display()));
        let partial = out.with_extension("conclave-partial");
        let file = std::fs::File::create(&partial).map_err(io)?;
        let mut writer = std::io::BufWriter::new(file);
        let fetched = self.fetch_into(message, &mut writer, progress).await;
        let finished = fetched.and_then(|size| {
            writer.flush().map_err(io)?;
            drop(writer);
            std::fs::rename(&partial, out).map_err(io)?;
            Ok(size)
        });
        if finished.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        finished
    }

    /// Fetches an attachment of at most `max` bytes into memory (an image to preview),
    /// checked as [`Client::save_file`] checks it.
    pub async fn attachment_bytes(&self, message: MessageId, max: u64) -> Result<Vec<u8>> {
        let part = self.part(message).await?.ok_or_else(|| {
            ClientError::AttachmentRefused("that message has no attachment".into())
        })?;
        if part.size > max {
            return Err(ClientError::AttachmentRefused(format!(
                "it is larger than {max} bytes"
            )));
        }
        let mut out = Vec::with_capacity(part.size as usize);
        self.fetch_into(message, &mut out, |_, _| {}).await?;
        Ok(out)
    }

    async fn part(&self, message: MessageId) -> Result<Option<ExternalPart>> {
        let Some(stored) = self.message(message).await? else {
            return Err(ClientError::NoSuchMessage(message.0));
        };
        if stored.message.kind != MessageKind::Attachment {
            return Ok(None);
        }
        let Some(bytes) = stored.message.attachment else {
            return Ok(None); // deleted
        };
        ExternalPart::decode(&bytes)
            .map(Some)
            .map_err(|e| ClientError::AttachmentRefused(e.to_string()))
    }

    /// Downloads, checks and decrypts into `out`. The hash covers every piece in order, so
    /// the caller may only treat `out` as the file once this returns `Ok`.
    async fn fetch_into(
        &self,
        message: MessageId,
        out: &mut impl Write,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64> {
        let part = self.part(message).await?.ok_or_else(|| {
            ClientError::AttachmentRefused("that message has no attachment".into())
        })?;
        let blob = blob_of(&part.url)?;
        let mut cipher = FileCipher::for_part(&part)?;
        let ds = &self.inner().ds;
        let mut done = 0u64;
        for index in 0..pieces(part.size) {
            let want = (part.size - done).min(PLAIN_PIECE as u64);
            let sealed = ds
                .blob_chunk(&blob, index as u32)
                .await
                .map_err(|e| match e {
                    ClientError::Server { message, .. } => ClientError::AttachmentRefused(message),
                    other => other,
                })?;
            let plain = cipher.open(index, &sealed)?;
            if plain.len() as u64 != want {
                return Err(ClientError::AttachmentRefused(format!(
                    "piece {index} has the wrong size"
                )));
            }
            out.write_all(&plain)
                .map_err(|e| ClientError::InvalidInput(e.to_string()))?;
            done += want;
            progress(done, part.size);
        }
        if cipher.hash().as_slice() != part.content_hash.as_slice() {
            return Err(ClientError::AttachmentRefused(
                "its bytes do not match the hash its sender sent".into(),
            ));
        }
        Ok(done)
    }
}
