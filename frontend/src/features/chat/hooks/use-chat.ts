import { useCallback, useEffect, useReducer, useRef } from "react";
import { whenIdle } from "../../../lib/idle";
import { followReply, listMessages, setActiveMessage, stopReply, streamChat, streamRegenerate } from "../api";
import { chatErrorFor, errorKeyForCode, type RetryAction } from "../chat-errors";
import { chatReducer, EMPTY_CHAT } from "../chat-state";
import type { ChatSettings } from "../../chat-settings";
import type { ChatStreamEvent, MessagePage } from "../types";

export { messageKey, PENDING_ASSISTANT_ID, PENDING_USER_ID, type ChatState } from "../chat-state";
export { chatErrorFor, errorKeyFor, type ChatError, type RetryAction } from "../chat-errors";

interface ChatCallbacks {
  onConversationStarted: (conversationId: number) => void;
  onTitle: (conversationId: number, title: string) => void;
  onActivity: () => void;
}

// Tokens wait for the next frame, and at least this long after the last update: a reply re-renders,
// lays out and paints at most 20 times a second, however fast its tokens come.
const MIN_UPDATE_INTERVAL_MS = 50;
const nextFrame: (callback: () => void) => number =
  typeof requestAnimationFrame === "function"
    ? (callback) => requestAnimationFrame(callback)
    : (callback) => window.setTimeout(callback, 16);
// The sidebar and usage refresh after a reply once the browser is idle: their queries' updates render
// synchronously, and in the reply's last task they made it a long one (the whole page rendered again).
const ACTIVITY_IDLE_TIMEOUT_MS = 500;
// A lost connection during a reply: follow it again after each of these waits, then give up.
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const cancelFrame: (handle: number) => void =
  typeof cancelAnimationFrame === "function" ? (handle) => cancelAnimationFrame(handle) : (handle) => clearTimeout(handle);

/** Asks the server to stop the reply; if that fails, this tab at least stops listening. */
function stopOnServer(conversationId: number, controller: AbortController): void {
  stopReply(conversationId).catch(() => controller.abort());
}

/** Messages of one conversation plus the reply being streamed into it. */
export function useChat(conversationId: number | null, callbacks: ChatCallbacks) {
  const [state, dispatch] = useReducer(chatReducer, EMPTY_CHAT);
  const loadedIdRef = useRef<number | null | undefined>(undefined);
  const abortRef = useRef<AbortController | null>(null);
  const stopWantedRef = useRef(false);
  const olderRef = useRef<Promise<void> | null>(null);
  const messagesRef = useRef(state.messages);
  const tailsRef = useRef(state.tails);
  const callbacksRef = useRef(callbacks);
  // Branch switches reach the server one after the other; only the latest one's answer is shown.
  const switchQueueRef = useRef<Promise<unknown>>(Promise.resolve());
  const switchCountRef = useRef(0);
  useEffect(() => {
    callbacksRef.current = callbacks;
    messagesRef.current = state.messages;
    tailsRef.current = state.tails;
  });

  useEffect(() => () => abortRef.current?.abort(), []);

  /** Prepends the page before the oldest message shown; a click while one is loading joins it. */
  const loadOlder = useCallback((): Promise<void> => {
    if (olderRef.current) return olderRef.current;
    const id = loadedIdRef.current;
    const oldest = messagesRef.current.find((message) => message.id > 0);
    if (!id || !oldest) return Promise.resolve();
    dispatch({ type: "olderRequested" });
    const request = listMessages(id, oldest.id)
      .then(
        (page) => {
          if (loadedIdRef.current === id) dispatch({ type: "olderLoaded", page });
        },
        () => {
          if (loadedIdRef.current === id) dispatch({ type: "olderFailed" });
        },
      )
      .finally(() => {
        if (olderRef.current === request) olderRef.current = null;
      });
    olderRef.current = request;
    return request;
  }, []);

  /**
   * Runs one streamed exchange. Resolves true when the server accepted the message
   * (a `start` arrived), false when it was refused before that.
   */
  const runStream = useCallback(
    async (
      start: (signal: AbortSignal, onEvent: (event: ChatStreamEvent) => void) => Promise<boolean | void>,
      retry: RetryAction,
    ): Promise<boolean> => {
      const controller = new AbortController();
      abortRef.current = controller;
      stopWantedRef.current = false;
      // The conversation this exchange belongs to; a new chat learns its id from `start`.
      let owner = loadedIdRef.current ?? null;
      const stillHere = () => loadedIdRef.current === owner;
      let started = false;
      let finished = false;
      let buffered = "";
      let frame: number | null = null;
      let timer: ReturnType<typeof setTimeout> | null = null;
      let lastUpdate = -Infinity;

      const flushTokens = () => {
        if (frame !== null) cancelFrame(frame);
        if (timer !== null) clearTimeout(timer);
        frame = null;
        timer = null;
        const text = buffered;
        buffered = "";
        if (!text || !stillHere()) return;
        lastUpdate = performance.now();
        dispatch({ type: "tokens", text });
      };

      const scheduleFlush = () => {
        if (frame !== null || timer !== null) return;
        const wait = lastUpdate + MIN_UPDATE_INTERVAL_MS - performance.now();
        if (wait <= 0) {
          frame = nextFrame(flushTokens);
          return;
        }
        timer = setTimeout(() => {
          timer = null;
          frame = nextFrame(flushTokens);
        }, wait);
      };

      const onEvent = (event: ChatStreamEvent) => {
        if (!stillHere()) return;
        if (event.type === "token") {
          buffered += event.text;
          scheduleFlush();
          return;
        }
        flushTokens();
        switch (event.type) {
          case "reasoning":
            dispatch({ type: "reasoning", text: event.text });
            break;
          case "start":
            started = true;
            if (owner === null) {
              owner = event.conversation_id;
              loadedIdRef.current = owner;
              callbacksRef.current.onConversationStarted(owner);
            }
            dispatch({ type: "accepted", userMessage: event.user_message });
            if (stopWantedRef.current) stopOnServer(owner, controller); // Stop pressed before the server named the chat
            break;
          case "sync":
            started = true;
            dispatch({ type: "synced", text: event.text_so_far, reasoning: event.reasoning_so_far });
            break;
          case "done":
            finished = true;
            dispatch({ type: "replySaved", message: event.assistant_message });
            break;
          case "title":
            callbacksRef.current.onTitle(event.conversation_id, event.title);
            break;
          case "error":
            finished = true;
            if (event.code === "stopped") {
              // Stopped on purpose (here or in another tab): what was written stays, marked incomplete.
              dispatch(
                event.assistant_message
                  ? { type: "replySaved", message: event.assistant_message }
                  : { type: "interrupted", error: null },
              );
              break;
            }
            dispatch({
              type: "replyFailed",
              message: event.assistant_message,
              error: { key: errorKeyForCode(event.code), retry: { type: "regenerate" } },
            });
            break;
        }
      };

      /**
       * The connection closed before the reply ended (the reply goes on on the server): follow it
       * again, with backoff. Never sends anything again. True once the reply is on screen, saved.
       */
      const reattach = async (): Promise<boolean> => {
        const id = owner;
        if (id === null) return false;
        for (const delay of RECONNECT_DELAYS_MS) {
          await wait(delay, controller.signal);
          if (controller.signal.aborted || !stillHere()) return true;
          try {
            const following = await followReply(id, controller.signal, onEvent);
            flushTokens();
            if (finished) return true;
            if (!following) {
              // It ended while we were away: show it as saved.
              const page = await listMessages(id);
              if (stillHere()) dispatch({ type: "loaded", page });
              return true;
            }
          } catch {
            flushTokens();
            if (finished || controller.signal.aborted) return true;
          }
        }
        return false;
      };

      try {
        const result = await start(controller.signal, onEvent);
        flushTokens();
        if (result === false) {
          // Nothing was being generated. A question without an answer: its reply may have been saved just now.
          const last = messagesRef.current[messagesRef.current.length - 1];
          if (owner !== null && last?.role === "user" && stillHere()) {
            const page = await listMessages(owner);
            if (stillHere()) dispatch({ type: "loaded", page });
          }
          return false;
        }
        if (!finished && stillHere() && !controller.signal.aborted && !(started && (await reattach()))) {
          dispatch({ type: "interrupted", error: null }); // the connection closed early
        }
      } catch (error) {
        flushTokens();
        if (!stillHere()) return started;
        if (!started) {
          dispatch({ type: "refused", error: controller.signal.aborted ? null : chatErrorFor(error, retry) });
          return false;
        }
        if (!controller.signal.aborted && (await reattach())) return started;
        if (!stillHere()) return started;
        dispatch({
          type: "interrupted",
          error: controller.signal.aborted ? null : chatErrorFor(error, { type: "regenerate" }),
        });
      } finally {
        if (abortRef.current === controller) abortRef.current = null;
        if (stillHere()) dispatch({ type: "streamEnded" });
        whenIdle(() => callbacksRef.current.onActivity(), ACTIVITY_IDLE_TIMEOUT_MS);
      }
      return started;
    },
    [],
  );

  /** Reattaches to the reply being generated in the conversation just opened, if there is one. */
  const resume = useCallback(
    (id: number): Promise<boolean> => {
      let attached = false;
      const onAttached = () => {
        attached = true;
        dispatch({ type: "resumed", conversationId: id, now: new Date().toISOString() });
      };
      return runStream(
        (signal, onEvent) =>
          followReply(id, signal, onEvent, onAttached).catch((error: unknown) => {
            if (attached) throw error;
            return false; // could not ask: the page shows what is saved, as before
          }),
        { type: "regenerate" },
      );
    },
    [runStream],
  );

  useEffect(() => {
    // The conversation we just created by sending is already on screen: keep the live stream.
    if (conversationId === loadedIdRef.current) return;
    abortRef.current?.abort(); // only this tab stops listening: the reply goes on on the server
    loadedIdRef.current = conversationId;
    olderRef.current = null;
    dispatch({ type: "opened", loading: conversationId !== null });
    if (conversationId === null) return;
    listMessages(conversationId)
      .then((page) => {
        if (loadedIdRef.current !== conversationId) return;
        dispatch({ type: "loaded", page });
        void resume(conversationId);
      })
      .catch(() => {
        if (loadedIdRef.current === conversationId) dispatch({ type: "loadFailed" });
      });
  }, [conversationId, resume]);

  /** Sends a message with the ids of its uploaded files (a message may be only files). */
  const send = useCallback(
    (text: string, attachmentIds: number[] = [], settings?: Partial<ChatSettings>): Promise<boolean> => {
      const id = loadedIdRef.current ?? null;
      // The reply on screen is the parent, even if another tab moved the active branch meanwhile;
      // a reply not saved yet (no id) leaves it to the server's active leaf.
      const last = messagesRef.current[messagesRef.current.length - 1];
      const parent = last && last.id > 0 && last.role === "assistant" ? { parent_id: last.id } : {};
      dispatch({ type: "sent", text, conversationId: id ?? 0, now: new Date().toISOString() });
      const request = {
        ...(id === null ? (settings ? { settings } : {}) : { conversation_id: id, ...parent }),
        message: text,
        ...(attachmentIds.length > 0 ? { attachment_ids: attachmentIds } : {}),
      };
      return runStream((signal, onEvent) => streamChat(request, signal, onEvent), {
        type: "send",
        text,
        ...(attachmentIds.length > 0 ? { attachmentIds } : {}),
      });
    },
    [runStream],
  );

  /** Sends `text` as a new version of user message `messageId`: a new branch under the same parent. */
  const edit = useCallback(
    (messageId: number, text: string): Promise<boolean> => {
      const id = loadedIdRef.current;
      const edited = messagesRef.current.find((message) => message.id === messageId);
      if (!id || !edited || edited.role !== "user" || abortRef.current) return Promise.resolve(false);
      dispatch({ type: "sent", text, conversationId: id, now: new Date().toISOString(), editOf: messageId });
      return runStream(
        (signal, onEvent) =>
          streamChat({ conversation_id: id, message: text, parent_id: edited.parent_id }, signal, onEvent),
        { type: "send", text, editOf: messageId },
      );
    },
    [runStream],
  );

  /** A new answer, as a sibling, to the question of assistant message `messageId` (absent: the last reply's). */
  const regenerate = useCallback(
    (messageId?: number): Promise<boolean> => {
      const id = loadedIdRef.current;
      if (id === null || id === undefined || abortRef.current) return Promise.resolve(false);
      dispatch({ type: "regenerating", messageId, conversationId: id, now: new Date().toISOString() });
      return runStream(
        (signal, onEvent) => streamRegenerate(id, messageId, signal, onEvent),
        { type: "regenerate", messageId },
      );
    },
    [runStream],
  );

  /**
   * Shows sibling `toId` of message `fromId` and makes its branch the active one on the server.
   * A branch seen before shows at once and is asked for by its leaf, so it comes back the same.
   */
  const switchBranch = useCallback((fromId: number, toId: number): Promise<void> => {
    const id = loadedIdRef.current;
    if (!id || abortRef.current) return Promise.resolve();
    const remembered = tailsRef.current[toId];
    const leaf = remembered?.[remembered.length - 1]?.id ?? toId;
    dispatch({ type: "switched", from: fromId, to: toId });
    const count = ++switchCountRef.current;
    const show = (page: MessagePage) => {
      if (count === switchCountRef.current && loadedIdRef.current === id) dispatch({ type: "pathLoaded", page });
    };
    const request = switchQueueRef.current.then(() =>
      // A remembered leaf deleted elsewhere: the sibling's newest branch instead.
      setActiveMessage(id, leaf).catch((error: unknown) => {
        if (leaf === toId) throw error;
        return setActiveMessage(id, toId);
      }),
    );
    switchQueueRef.current = request.catch(() => undefined);
    // Refused (the message is gone): show whatever the server's active path is now.
    return request.then(show, () => listMessages(id).then(show, () => undefined));
  }, []);

  /** Show the branch through `messageId` (a search hit off the active path): its newest leaf. */
  const showBranchOf = useCallback((messageId: number): Promise<void> => {
    const id = loadedIdRef.current;
    if (!id || abortRef.current) return Promise.resolve();
    const count = ++switchCountRef.current;
    const request = switchQueueRef.current.then(() => setActiveMessage(id, messageId));
    switchQueueRef.current = request.catch(() => undefined);
    return request.then(
      (page) => {
        if (count === switchCountRef.current && loadedIdRef.current === id) dispatch({ type: "pathLoaded", page });
      },
      () => undefined, // gone meanwhile: the path on screen stays
    );
  }, []);

  /** Stops the reply on the server (it ends with what it has, saved incomplete), from whichever tab. */
  const stop = useCallback(() => {
    const controller = abortRef.current;
    if (!controller) return;
    const id = loadedIdRef.current;
    if (id) stopOnServer(id, controller);
    else stopWantedRef.current = true; // a new chat: stopped as soon as the server names it
  }, []);
  /** True while an exchange runs: edits, regenerates and switches wait for it. */
  const isBusy = useCallback(() => abortRef.current !== null, []);
  const dismissError = useCallback(() => dispatch({ type: "errorDismissed" }), []);

  return { ...state, send, edit, regenerate, switchBranch, showBranchOf, stop, isBusy, loadOlder, dismissError };
}
