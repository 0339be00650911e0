/*
 * AimakFiller: fills XForms with JavaRosa (the engine of ODK Collect), driven over stdin/stdout.
 *
 * Compiled at run time by fieldsim/engine.py against the ODK Validate jar bundled in pyxform
 * (JavaRosa 5.1). Protocol: one JSON request per line in, one JSON reply per line out.
 * The first line written is {"ready": true, "javarosa": "<version>"}.
 *
 * Request (op "fill" is the default):
 *   {"id", "op", "form": "/abs/path.xml", "answers": {...}, "repeats": {name: N | [N per outer]},
 *    "auto": bool, "seed": long, "lang", "tz", "start", "end", "today", "deviceid",
 *    "properties": {...}, "instanceID", "deprecatedID", "geopoint": "lat lon", "lane": int}
 * With -Daimak.threads=N, N threads fill at once ("lane" picks one); replies keep request order.
 * Reply: {"id", "xml", "instanceID", "errors": [{kind, question, path, value, message, allowed?}]}
 *    or  {"id", "unknownAnswers": ["key", ...]} when answer keys name no question of the form
 *        (by name, name[k] or path, repeats included): nothing is filled, so no answer is lost
 *    or  {"id", "exception": "...", "exceptionType": "..."}
 * Other ops: "ping" -> {"id", "pong": true}; "load" -> {"id", "languages": [...]}; "quit".
 *
 * See /work/shared/domain/javarosa.md for the facts and pitfalls this code relies on.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TimeZone;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.javarosa.core.model.Constants;
import org.javarosa.core.model.FormDef;
import org.javarosa.core.model.FormIndex;
import org.javarosa.core.model.GroupDef;
import org.javarosa.core.model.IFormElement;
import org.javarosa.core.model.ItemsetBinding;
import org.javarosa.core.model.QuestionDef;
import org.javarosa.core.model.RangeQuestion;
import org.javarosa.core.model.SelectChoice;
import org.javarosa.core.model.ValidateOutcome;
import org.javarosa.core.model.condition.Constraint;
import org.javarosa.core.model.condition.EvaluationContext;
import org.javarosa.core.model.condition.IFunctionHandler;
import org.javarosa.core.model.data.AnswerDataFactory;
import org.javarosa.core.model.data.DateData;
import org.javarosa.core.model.data.DateTimeData;
import org.javarosa.core.model.data.IAnswerData;
import org.javarosa.core.model.data.MultipleItemsData;
import org.javarosa.core.model.data.SelectMultiData;
import org.javarosa.core.model.data.SelectOneData;
import org.javarosa.core.model.data.StringData;
import org.javarosa.core.model.data.UncastData;
import org.javarosa.core.model.data.helper.Selection;
import org.javarosa.core.model.instance.FormInstance;
import org.javarosa.core.model.instance.InstanceInitializationFactory;
import org.javarosa.core.model.instance.TreeElement;
import org.javarosa.core.model.instance.TreeReference;
import org.javarosa.core.services.IPropertyManager;
import org.javarosa.core.services.PropertyManager;
import org.javarosa.core.services.locale.Localizer;
import org.javarosa.core.services.properties.IPropertyRules;
import org.javarosa.form.api.FormEntryCaption;
import org.javarosa.form.api.FormEntryController;
import org.javarosa.form.api.FormEntryModel;
import org.javarosa.form.api.FormEntryPrompt;
import org.javarosa.model.xform.XFormSerializingVisitor;
import org.javarosa.model.xform.XFormsModule;
import org.javarosa.xform.util.XFormUtils;
import org.javarosa.xpath.XPathConditional;

public final class AimakFiller {

    static final ObjectMapper JSON = new ObjectMapper();
    static final MapProperties PROPS = new MapProperties();
    /** parsed forms, per filling thread: a FormDef and its instance are used by one thread only */
    static final ThreadLocal<Map<String, LoadedForm>> FORMS = ThreadLocal.withInitial(HashMap::new);
    /**
     * Threads that fill at once (-Daimak.threads, default 1). Each has its own parsed forms,
     * preload properties and start-geopoint; parsing (JavaRosa's parser and the media folder
     * are process-wide) and a change of the default time zone happen one at a time; replies go
     * out in request order. One JVM with two threads compiles JavaRosa once instead of twice.
     */
    static final int THREADS = Math.max(1, Integer.getInteger("aimak.threads", 1));
    static final Object PARSE_LOCK = new Object();
    /** fills hold it shared; changing the JVM's default time zone (used by JavaRosa) takes it whole */
    static final java.util.concurrent.locks.ReentrantReadWriteLock TZ_LOCK =
        new java.util.concurrent.locks.ReentrantReadWriteLock();
    static final Object END = new Object();
    static final String DEFAULT_TZ = "Asia/Bishkek";
    static final String DEFAULT_CONSTRAINT_MSG = "Sorry, this response is invalid!";
    static final String DEFAULT_REQUIRED_MSG = "Sorry, this response is required!";
    static final int MAX_EVENTS = 1_000_000;
    static volatile String currentTz = null;

    // ------------------------------------------------------------------ main loop

    public static void main(String[] args) throws Exception {
        OutputStream raw = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        // Anything JavaRosa prints must not corrupt the protocol stream.
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        new XFormsModule().registerModule();
        PropertyManager.setPropertyManager(PROPS);
        org.javarosa.core.reference.ReferenceManager.instance().addReferenceFactory(new MediaFactory());
        org.javarosa.xform.parse.XFormParser.registerActionHandler(
            org.javarosa.core.model.actions.setgeopoint.SetGeopointActionHandler.ELEMENT_NAME,
            new StartGeopointHandler());
        setTimeZone(DEFAULT_TZ);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        ObjectNode hello = JSON.createObjectNode();
        hello.put("ready", true);
        hello.put("javarosa", javarosaVersion());
        write(raw, hello);
        raw.flush();

        // one single-thread lane per filling thread: a request naming a lane (e.g. one per UI
        // language) always meets the forms that lane has parsed and warmed; others go round-robin
        java.util.concurrent.ExecutorService[] lanes = new java.util.concurrent.ExecutorService[THREADS];
        for (int i = 0; i < THREADS; i++) {
            String name = "aimak-fill-" + i;
            lanes[i] = java.util.concurrent.Executors.newSingleThreadExecutor(task -> {
                Thread t = new Thread(task, name);
                t.setDaemon(true);
                return t;
            });
        }
        int turn = 0;
        java.util.concurrent.BlockingQueue<Object> ordered = new java.util.concurrent.LinkedBlockingQueue<>();
        Thread writer = new Thread(() -> writeReplies(raw, ordered), "aimak-replies");
        writer.start();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode req;
            try {
                req = JSON.readTree(line);
            } catch (Throwable t) {
                ordered.put(java.util.concurrent.CompletableFuture.completedFuture(reply(null, t)));
                continue;
            }
            if (req.path("op").asText("fill").equals("quit")) {
                break;
            }
            JsonNode lane = req.get("lane");
            int index = lane != null && lane.canConvertToInt() ? Math.floorMod(lane.asInt(), THREADS)
                : turn++ % THREADS;
            ordered.put(lanes[index].submit(() -> reply(req, null)));
        }
        ordered.put(END);
        writer.join();
        for (java.util.concurrent.ExecutorService lane : lanes) {
            lane.shutdownNow();
        }
    }

    /** The reply line to a request (or to one that could not be read: ``failure``). */
    static byte[] reply(JsonNode req, Throwable failure) throws Exception {
        ObjectNode reply;
        JsonNode id = req == null ? null : req.get("id");
        try {
            if (failure != null) {
                throw failure;
            }
            reply = handle(req.path("op").asText("fill"), req);
        } catch (Throwable t) {
            reply = JSON.createObjectNode();
            reply.put("exception", String.valueOf(t.getMessage() == null ? t.toString() : t.getMessage()));
            reply.put("exceptionType", t.getClass().getName());
        }
        if (id != null) {
            reply.set("id", id);
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(8192);
        write(out, reply);
        return out.toByteArray();
    }

    /**
     * Write the replies in request order. Flush when nothing finished is waiting (low latency in
     * lockstep, big writes when pipelined) and at least every millisecond, so that a reader
     * waiting on a stream of slow fills is not kept waiting for a whole buffer.
     */
    @SuppressWarnings("unchecked")
    static void writeReplies(OutputStream raw, java.util.concurrent.BlockingQueue<Object> ordered) {
        try {
            long flushed = System.nanoTime();
            while (true) {
                Object item = ordered.poll();
                if (item == null) {
                    raw.flush();
                    flushed = System.nanoTime();
                    item = ordered.take();
                }
                if (item == END) {
                    break;
                }
                java.util.concurrent.Future<byte[]> next = (java.util.concurrent.Future<byte[]>) item;
                if (!next.isDone()) {
                    raw.flush();
                    flushed = System.nanoTime();
                }
                raw.write(next.get());
                long now = System.nanoTime();
                if (now - flushed > 1_000_000L) {
                    raw.flush();
                    flushed = now;
                }
            }
            raw.flush();
        } catch (Exception e) {
            throw new IllegalStateException("cannot write replies", e);
        }
    }
    static void write(OutputStream out, JsonNode node) throws Exception {
        out.write(JSON.writeValueAsBytes(node));
        out.write('\n');
    }

    static String javarosaVersion() {
        try (InputStream s = FormDef.class.getResourceAsStream(
                "/META-INF/maven/org.getodk/javarosa/pom.properties")) {
            if (s == null) {
                return "unknown";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(s);
            return p.getProperty("version", "unknown");
        } catch (Exception e) {
            return "unknown";
        }
    }

    static ObjectNode handle(String op, JsonNode req) throws Exception {
        switch (op) {
            case "ping": {
                ObjectNode r = JSON.createObjectNode();
                r.put("pong", true);
                return r;
            }
            case "load": {
                LoadedForm f = load(req.path("form").asText());
                ObjectNode r = JSON.createObjectNode();
                ArrayNode langs = r.putArray("languages");
                Localizer loc = f.fd.getLocalizer();
                if (loc != null) {
                    for (String l : loc.getAvailableLocales()) {
                        langs.add(l);
                    }
                }
                return r;
            }
            case "fill":
                return new Fill(req).run();
            default:
                throw new IllegalArgumentException("unknown op '" + op + "' (expected fill, load, ping or quit)");
        }
    }

    static void setTimeZone(String tz) {
        if (tz.equals(currentTz)) {
            return;
        }
        TimeZone zone = TimeZone.getTimeZone(ZoneId.of(tz));
        TimeZone.setDefault(zone);
        try {
            org.joda.time.DateTimeZone.setDefault(org.joda.time.DateTimeZone.forTimeZone(zone));
        } catch (Throwable ignored) {
            // joda-time is only a convenience of some JavaRosa versions
        }
        currentTz = tz;
    }

    // ------------------------------------------------------------------ forms: parse once, reuse

    static final class LoadedForm {
        final String path;
        final long mtime;
        final long size;
        final FormDef fd;
        final FormInstance pristine;
        /** question name -> names of its enclosing repeats, outermost first */
        final Map<String, List<String>> repeatChain = new HashMap<>();
        /** generic paths (/data/a/b) of every question, repeats included */
        final Set<String> questionPaths = new HashSet<>();
        /** repeat name -> uses jr:count */
        final Map<String, Boolean> repeatCounted = new HashMap<>();
        /** generic paths (/data/a/b) of repeats */
        final Set<String> repeatPaths = new HashSet<>();
        /** names of the questions (any of them, names may repeat) that sit inside a repeat */
        final Set<String> namesInRepeats = new HashSet<>();
        /** preload nodes: handler/params -> generic reference */
        final Map<String, TreeReference> preloads = new HashMap<>();
        /**
         * Whether re-committing an unchanged answer can change the instance: volatile functions
         * (now(), random(), uuid(), once(), randomize()), setvalue actions, or itemset questions
         * that copy nodes. Only then does the final check need FormDef.validate's re-commit.
         */
        final boolean recommitMatters;
        boolean complexQuestions = false;
        /** some question has xforms-value-changed actions (setvalue on a change) */
        boolean valueChangedActions = false;
        /** itemset questions whose choices depend on nothing in the main instance: always the same */
        final Map<QuestionDef, Boolean> staticItemsets = new HashMap<>();
        /** the choices of each static itemset (the values never change; labels are not used) */
        final Map<QuestionDef, List<SelectChoice>> staticChoices = new HashMap<>();

        LoadedForm(String path, long mtime, long size, FormDef fd, String text) {
            this.path = path;
            this.mtime = mtime;
            this.size = size;
            this.fd = fd;
            this.pristine = fd.getMainInstance().clone();
            scan(fd, new ArrayList<>());
            scanPreloads(pristine.getRoot());
            this.recommitMatters = complexQuestions || VOLATILE.matcher(text).find();
        }

        void scan(IFormElement el, List<String> chain) {
            List<IFormElement> kids = el.getChildren();
            if (kids == null) {
                return;
            }
            for (IFormElement k : kids) {
                if (k instanceof GroupDef) {
                    GroupDef g = (GroupDef) k;
                    if (g.getRepeat()) {
                        TreeReference ref = (TreeReference) g.getBind().getReference();
                        String name = ref.getNameLast();
                        repeatCounted.put(name, g.getCountReference() != null);
                        repeatPaths.add(genericPath(ref));
                        List<String> inner = new ArrayList<>(chain);
                        inner.add(name);
                        scan(g, inner);
                    } else {
                        scan(g, chain);
                    }
                } else if (k instanceof QuestionDef) {
                    QuestionDef q = (QuestionDef) k;
                    complexQuestions |= q.isComplex();
                    if (q.getActionController() != null) {
                        List<?> actions = q.getActionController().getListenersForEvent("xforms-value-changed");
                        valueChangedActions |= actions != null && !actions.isEmpty();
                    }
                    TreeReference ref = (TreeReference) ((QuestionDef) k).getBind().getReference();
                    repeatChain.put(ref.getNameLast(), chain);
                    if (!chain.isEmpty()) namesInRepeats.add(ref.getNameLast());
                    questionPaths.add(genericPath(ref));
                }
            }
        }

        /**
         * Whether the question's itemset always yields the same choices: a nodeset whose triggers
         * all lie in secondary instances (no choice filter on answers), no copy, no randomize.
         */
        boolean staticItemset(QuestionDef q, TreeReference ref) {
            Boolean known = staticItemsets.get(q);
            if (known == null) {
                ItemsetBinding items = q.getDynamicChoices();
                known = items != null && !items.copyMode && !items.randomize;
                if (known) {
                    for (TreeReference trigger : items.nodesetExpr.getTriggers(ref)) {
                        if (trigger.getInstanceName() == null) {
                            known = false;
                            break;
                        }
                    }
                }
                staticItemsets.put(q, known);
            }
            return known;
        }

        void scanPreloads(TreeElement e) {
            String h = e.getPreloadHandler();
            if (h != null) {
                String key = h + "/" + e.getPreloadParams();
                if (!preloads.containsKey(key)) {
                    preloads.put(key, e.getRef().genericize());
                }
            }
            for (int i = 0; i < e.getNumChildren(); i++) {
                scanPreloads(e.getChildAt(i));
            }
        }
    }

    static String genericPath(TreeReference ref) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ref.size(); i++) {
            sb.append('/').append(ref.getName(i));
        }
        return sb.toString();
    }

    static LoadedForm load(String path) throws Exception {
        return load(path, null);
    }

    /**
     * The parsed form for one UI language: one FormDef per (file, language), so a run that
     * alternates enumerators' languages does not re-localise the whole form before each fill.
     */
    static LoadedForm load(String path, String lang) throws Exception {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("the request has no 'form' (path of an XForm XML file)");
        }
        File file = new File(path);
        java.nio.file.attribute.BasicFileAttributes attributes;  // one stat per fill, not three
        try {
            attributes = java.nio.file.Files.readAttributes(file.toPath(),
                java.nio.file.attribute.BasicFileAttributes.class);
        } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
            attributes = null;
        }
        if (attributes == null || !attributes.isRegularFile()) {
            throw new IllegalArgumentException("form file not found: " + path);
        }
        String key = lang == null ? path : path + "\u0000" + lang;
        Map<String, LoadedForm> forms = FORMS.get();
        LoadedForm f = forms.get(key);
        long mtime = attributes.lastModifiedTime().toMillis();
        long size = attributes.size();
        if (f != null && f.mtime == mtime && f.size == size) {
            return f;
        }
        String stem = file.getName().replaceFirst("\\.[^.]*$", "");
        File media = new File(file.getAbsoluteFile().getParentFile(), stem + "-media");
        byte[] bytes = java.nio.file.Files.readAllBytes(file.toPath());
        FormDef fd;
        synchronized (PARSE_LOCK) {
            mediaDir = media.isDirectory() ? media : file.getAbsoluteFile().getParentFile();
            fd = XFormUtils.getFormFromInputStream(new java.io.ByteArrayInputStream(bytes));
        }
        fd.getEvaluationContext().addFunctionHandler(new PulldataStub());
        f = new LoadedForm(path, mtime, size, fd, new String(bytes, StandardCharsets.UTF_8));
        forms.put(key, f);
        return f;
    }

    /** The fill under way on this thread: start-geopoint asks it for the "device location". */
    static final ThreadLocal<Fill> CURRENT = new ThreadLocal<>();

    /** odk:setgeopoint (start-geopoint): the phone's location when the form opens, near the request's point. */
    public static final class StartGeopointAction
            extends org.javarosa.core.model.actions.setgeopoint.SetGeopointAction {
        public StartGeopointAction() {
            super((TreeReference) null);  // the no-argument form leaves the action name null
        }
        public void requestLocationUpdates() {
            Fill current = CURRENT.get();
            saveLocationValue(current == null ? "" : current.point());
        }
    }

    static final class StartGeopointHandler
            extends org.javarosa.core.model.actions.setgeopoint.SetGeopointActionHandler {
        public org.javarosa.core.model.actions.setgeopoint.SetGeopointAction getSetGeopointAction() {
            return new StartGeopointAction();
        }
    }

    /** The folder external files (jr://file/, jr://file-csv/) of the form being parsed come from. */
    static File mediaDir = new File(".");

    /**
     * Collect keeps a form's media next to it; here: "<form stem>-media/" if it exists, else the
     * form's own folder. External choice files are read when the form is parsed.
     */
    static final class MediaFactory implements org.javarosa.core.reference.ReferenceFactory {
        public boolean derives(String uri) {
            return uri.startsWith("jr://file/") || uri.startsWith("jr://file-csv/")
                || uri.startsWith("jr://images/") || uri.startsWith("jr://audio/")
                || uri.startsWith("jr://video/");
        }
        public org.javarosa.core.reference.Reference derive(String uri) {
            String name = uri.substring(uri.indexOf("//") + 2);
            name = name.substring(name.indexOf('/') + 1);
            return new MediaReference(uri, new File(mediaDir, name));
        }
        public org.javarosa.core.reference.Reference derive(String uri, String context) {
            return derive(uri);
        }
    }

    static final class MediaReference implements org.javarosa.core.reference.Reference {
        final String uri;
        final File file;
        MediaReference(String uri, File file) { this.uri = uri; this.file = file; }
        public boolean doesBinaryExist() { return file.isFile(); }
        public InputStream getStream() throws java.io.IOException { return new FileInputStream(file); }
        public String getURI() { return uri; }
        public String getLocalURI() { return file.getAbsolutePath(); }
        public boolean isReadOnly() { return true; }
        public OutputStream getOutputStream() throws java.io.IOException {
            throw new java.io.IOException("read-only media reference: " + uri);
        }
        public void remove() throws java.io.IOException {
            throw new java.io.IOException("read-only media reference: " + uri);
        }
        public org.javarosa.core.reference.Reference[] probeAlternativeReferences() {
            return new org.javarosa.core.reference.Reference[0];
        }
    }

    /** pulldata() is supplied by Collect, not JavaRosa: answer "" so forms that use it still work. */
    static final class PulldataStub implements IFunctionHandler {
        public String getName() { return "pulldata"; }
        public List<Class[]> getPrototypes() { return new ArrayList<>(); }
        public boolean rawArgs() { return true; }
        public boolean realTime() { return false; }
        public Object eval(Object[] args, EvaluationContext ec) { return ""; }
    }

    // ------------------------------------------------------------------ property preloads

    /** The preload properties (deviceid, username, ...) of the fill under way on each thread. */
    static final class MapProperties implements IPropertyManager {
        final ThreadLocal<Map<String, String>> perThread = ThreadLocal.withInitial(HashMap::new);
        Map<String, String> values() { return perThread.get(); }
        public List<String> getProperty(String name) {
            String v = values().get(name);
            List<String> l = new ArrayList<>();
            if (v != null) {
                l.add(v);
            }
            return l;
        }
        public void setProperty(String name, String value) { values().put(name, value); }
        public void setProperty(String name, List<String> value) {
            values().put(name, value.isEmpty() ? null : value.get(0));
        }
        public String getSingularProperty(String name) { return values().get(name); }
        public void addRules(IPropertyRules rules) { }
        public List<IPropertyRules> getRules() { return new ArrayList<>(); }
    }

    // ------------------------------------------------------------------ one fill

    static final class BadValue extends Exception {
        final List<String> allowed;
        BadValue(String msg) { this(msg, null); }
        BadValue(String msg, List<String> allowed) { super(msg); this.allowed = allowed; }
    }

    static final Pattern INDEXED_KEY = Pattern.compile("^([^\\[\\]/]+)((?:\\[\\d+\\])+)$");
    static final int[] NO_POSITIONS = new int[0];
    static final Pattern INDEX = Pattern.compile("\\[(\\d+)\\]");
    static final Pattern VOLATILE = Pattern.compile(
        "\\b(?:now|random|randomize|uuid|once)\\s*\\(|setvalue");
    static final Pattern COUNT_SELECTED_MAX = Pattern.compile("count-selected\\(\\s*\\.\\s*\\)\\s*(<=|<)\\s*(\\d+)");
    static final Pattern DOT_CMP = Pattern.compile("(?<![\\w/$])\\.\\s*(>=|<=|>|<|=)\\s*(-?\\d+(?:\\.\\d+)?)");
    static final Pattern CMP_DOT = Pattern.compile("(-?\\d+(?:\\.\\d+)?)\\s*(>=|<=|>|<)\\s*\\.(?![\\w/])");
    static final String[] WORDS = {
        "ok", "good", "no comment", "water", "road", "school", "clinic", "market", "bus",
        "light", "clean", "slow", "fast", "late", "nice", "хорошо", "нормально", "жакшы"
    };

    static final class Fill {
        final JsonNode req;
        final LoadedForm form;
        final FormDef fd;
        final boolean auto;
        final Random rng;
        final ZoneId zone;
        final String tz;
        final ArrayNode errors = JSON.createArrayNode();
        final Set<String> errorPaths = new HashSet<>();
        /** answered here from a static itemset's choices: the value is one of them (or empty) */
        final Set<TreeReference> chosen = new HashSet<>();
        final Map<String, JsonNode> plain = new HashMap<>();
        final Map<String, List<Map.Entry<int[], JsonNode>>> indexed = new HashMap<>();
        final Map<String, JsonNode> byPath = new HashMap<>();
        /** answer keys that match no question anywhere in the form (a renamed question, a typo) */
        final List<String> unknown = new ArrayList<>();
        final JsonNode repeats;
        final Map<String, Integer> counts = new HashMap<>();
        final double centerLat;
        final double centerLon;
        FormEntryModel fem;
        FormEntryController fec;
        Date today;

        Fill(JsonNode req) throws Exception {
            this.req = req;
            this.form = load(req.path("form").asText(null), req.path("lang").asText(""));
            this.fd = form.fd;
            this.auto = req.path("auto").asBoolean(false);
            JsonNode seed = req.get("seed");
            this.rng = (seed == null || seed.isNull()) ? new Random() : new Random(seed.asLong());
            String tz = req.path("tz").asText(null);
            if (tz == null || tz.isEmpty()) {
                tz = DEFAULT_TZ;
            }
            this.zone = ZoneId.of(tz);
            this.tz = tz;
            this.repeats = req.path("repeats");
            JsonNode answers = req.path("answers");
            Iterator<Map.Entry<String, JsonNode>> it = answers.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                String key = e.getKey().trim();
                if (key.startsWith("/")) {
                    if (!form.questionPaths.contains(INDEX.matcher(key).replaceAll(""))) {
                        unknown.add(e.getKey());
                    }
                    byPath.put(key, e.getValue());
                    continue;
                }
                Matcher m = key.indexOf('[') < 0 ? null : INDEXED_KEY.matcher(key);
                if (m != null && m.matches()) {
                    Matcher im = INDEX.matcher(m.group(2));
                    List<Integer> idx = new ArrayList<>();
                    while (im.find()) {
                        idx.add(Integer.parseInt(im.group(1)));
                    }
                    int[] arr = idx.stream().mapToInt(Integer::intValue).toArray();
                    if (!form.repeatChain.containsKey(m.group(1))) {
                        unknown.add(e.getKey());
                    }
                    indexed.computeIfAbsent(m.group(1), k -> new ArrayList<>())
                        .add(new java.util.AbstractMap.SimpleEntry<>(arr, e.getValue()));
                } else {
                    if (!form.repeatChain.containsKey(key)) {
                        unknown.add(e.getKey());
                    }
                    plain.put(key, e.getValue());
                }
            }
            double lat = 42.8746;
            double lon = 74.5698;
            String gp = req.path("geopoint").asText("");
            if (!gp.isBlank()) {
                String[] parts = gp.trim().split("\\s+");
                lat = Double.parseDouble(parts[0]);
                lon = Double.parseDouble(parts[1]);
            }
            centerLat = lat;
            centerLon = lon;
        }

        /** The fill, with the JVM's default time zone (JavaRosa writes times in it) set to ``tz``. */
        ObjectNode run() throws Exception {
            while (true) {
                if (!tz.equals(currentTz)) {
                    TZ_LOCK.writeLock().lock();
                    try {
                        setTimeZone(tz);
                    } finally {
                        TZ_LOCK.writeLock().unlock();
                    }
                }
                TZ_LOCK.readLock().lock();
                if (tz.equals(currentTz)) {
                    break;
                }
                TZ_LOCK.readLock().unlock();  // another thread's fill changed it meanwhile
            }
            try {
                return fill();
            } finally {
                TZ_LOCK.readLock().unlock();
            }
        }

        ObjectNode fill() throws Exception {
            if (!unknown.isEmpty()) {
                // answers for questions that exist but are not relevant stay unused, as on a phone;
                // keys that name no question at all would be lost silently, so refuse the fill
                Collections.sort(unknown);
                ObjectNode reply = JSON.createObjectNode();
                ArrayNode keys = reply.putArray("unknownAnswers");
                for (String k : unknown) keys.add(k);
                return reply;
            }
            fd.setInstance(form.pristine.clone());

            PROPS.values().clear();
            JsonNode props = req.path("properties");
            Iterator<Map.Entry<String, JsonNode>> pit = props.fields();
            while (pit.hasNext()) {
                Map.Entry<String, JsonNode> e = pit.next();
                if (!e.getValue().isNull()) {
                    PROPS.values().put(e.getKey(), e.getValue().asText());
                }
            }
            String deviceid = req.path("deviceid").asText(null);
            if (deviceid != null && !deviceid.isEmpty()) {
                PROPS.values().put("deviceid", deviceid);
            }

            // The UI language: set before initialize so calculates (jr:choice-name) follow it.
            Localizer loc = fd.getLocalizer();
            if (loc != null) {
                String lang = req.path("lang").asText(null);
                String locale = lang == null || lang.isEmpty() ? loc.getDefaultLocale() : resolveLanguage(loc, lang);
                if (!locale.equals(loc.getLocale())) {  // this FormDef serves one language: set once
                    loc.setLocale(locale);
                }
            } else if (!req.path("lang").asText("").isEmpty()) {
                // a form without translations: any language shows the same labels
            }

            CURRENT.set(this);
            try {
                fd.initialize(true, new InstanceInitializationFactory());
            } finally {
                CURRENT.remove();
            }

            // Simulated fieldwork time: start and today are set before the walk so calculations see them.
            Date start = parseInstant(req.path("start").asText(null));
            Date end = parseInstant(req.path("end").asText(null));
            today = parseDay(req.path("today").asText(null));
            if (today == null && start != null) {
                today = Date.from(start.toInstant().atZone(zone).toLocalDate().atStartOfDay(zone).toInstant());
            }
            if (end == null && start != null) {
                end = start;
            }
            if (start != null) {
                setPreload("timestamp/start", new DateTimeData(start), true);
            }
            if (today != null) {
                setPreload("date/today", new DateData(today), true);
            }

            fem = new FormEntryModel(fd);
            fec = new FormEntryController(fem);
            walk();

            FormIndex failed = null;
            int outcome = FormEntryController.ANSWER_OK;
            if (form.recommitMatters) {
                ValidateOutcome vo = fd.validate(true);
                if (vo != null) {
                    failed = vo.failedPrompt;
                    outcome = vo.outcome;
                }
            } else {
                Object[] vo = checkAnswers();
                if (vo != null) {
                    failed = (FormIndex) vo[0];
                    outcome = (Integer) vo[1];
                }
            }
            if (failed != null) {
                FormEntryPrompt p = fem.getQuestionPrompt(failed);
                String path = canonicalPath(failed.getReference());
                if (!errorPaths.contains(path)) {
                    String kind = outcome == FormEntryController.ANSWER_CONSTRAINT_VIOLATED ? "constraint" : "required";
                    String msg = kind.equals("constraint") ? constraintText(p, p.getAnswerValue()) : requiredText(p);
                    error(kind, p, path, p.getAnswerValue() == null ? null : p.getAnswerValue().uncast().getString(), msg, null);
                }
            }
            fec.finalizeFormEntry();

            if (end != null) {
                setPreload("timestamp/end", new DateTimeData(end), false);
            }
            TreeElement meta = metaElement();
            String instanceId = req.path("instanceID").asText(null);
            String deprecatedId = req.path("deprecatedID").asText(null);
            TreeElement idNode = instanceIdElement(meta);
            if (instanceId != null && !instanceId.isEmpty() && idNode != null) {
                idNode.setAnswer(new StringData(instanceId));
            }
            if (deprecatedId != null && !deprecatedId.isEmpty()) {
                if (meta == null) {
                    throw new IllegalStateException("the form has no meta group: cannot set meta/deprecatedID for an edit");
                }
                TreeElement dep = meta.getFirstChild("deprecatedID");
                if (dep == null) {
                    dep = new TreeElement("deprecatedID");
                    dep.setNamespace(idNode == null ? meta.getNamespace() : idNode.getNamespace());
                    meta.addChild(dep);
                }
                dep.setAnswer(new StringData(deprecatedId));
                if (idNode != null && deprecatedId.equals(valueOf(idNode))) {
                    throw new IllegalArgumentException("instanceID equals deprecatedID '" + deprecatedId
                        + "': an edit needs a new instanceID");
                }
            }

            byte[] xml = new XFormSerializingVisitor().serializeInstance(fd.getInstance());
            ObjectNode reply = JSON.createObjectNode();
            reply.put("xml", new String(xml, StandardCharsets.UTF_8));
            reply.put("instanceID", idNode == null ? null : valueOf(idNode));
            reply.set("errors", errors);
            return reply;
        }

        /**
         * FormDef.validate(true) without its side effect: it walks the form as Collect does at
         * finalisation and answers every relevant question again with its own value, which
         * re-runs every dependent calculation, relevance and constraint (a quarter of a fill's
         * time). When nothing in the form can change on an unchanged value (recommitMatters is
         * false) the re-commit is a no-op, so the same walk with the same required and
         * constraint checks (FormEntryController.answerQuestion's order) gives the same outcome.
         * Returns {failed index, ANSWER_* code} or null.
         */
        Object[] checkAnswers() {
            FormEntryModel model = new FormEntryModel(fd);
            FormEntryController c = new FormEntryController(model);
            c.jumpToIndex(FormIndex.createBeginningOfFormIndex());
            int ev;
            while ((ev = c.stepToNextEvent()) != FormEntryController.EVENT_END_OF_FORM) {
                if (ev != FormEntryController.EVENT_QUESTION) continue;
                FormIndex idx = model.getFormIndex();
                TreeElement element = fd.getMainInstance().resolveReference(idx.getReference());
                // A value this fill chose among a static itemset's choices is still among them,
                // so getAnswerValue's re-binding (it re-evaluates the itemset) would change
                // nothing and return the same value.
                IAnswerData value = chosen.contains(idx.getReference()) ? element.getValue()
                    : model.getQuestionPrompt(idx).getAnswerValue();
                if (element.isRequired() && value == null) {
                    return new Object[] {idx, FormEntryController.ANSWER_REQUIRED_BUT_EMPTY};
                }
                if (!fd.evaluateConstraint(idx.getReference(), value)) {
                    return new Object[] {idx, FormEntryController.ANSWER_CONSTRAINT_VIOLATED};
                }
            }
            return null;
        }

        String resolveLanguage(Localizer loc, String lang) {
            String[] all = loc.getAvailableLocales();
            for (String l : all) {
                if (l.equals(lang)) return l;
            }
            for (String l : all) {
                if (l.toLowerCase().endsWith("(" + lang.toLowerCase() + ")")) return l;
            }
            for (String l : all) {
                if (l.toLowerCase().startsWith(lang.toLowerCase())) return l;
            }
            throw new IllegalArgumentException("language '" + lang + "' is not in the form; it has: "
                + String.join(", ", all));
        }

        Date parseInstant(String s) {
            if (s == null || s.isBlank()) return null;
            s = s.trim();
            try {
                return Date.from(OffsetDateTime.parse(s).toInstant());
            } catch (Exception e) {
                try {
                    return Date.from(Instant.parse(s));
                } catch (Exception e2) {
                    try {
                        return Date.from(LocalDateTime.parse(s).atZone(zone).toInstant());
                    } catch (Exception e3) {
                        return Date.from(LocalDate.parse(s).atStartOfDay(zone).toInstant());
                    }
                }
            }
        }

        Date parseDay(String s) {
            if (s == null || s.isBlank()) return null;
            return Date.from(LocalDate.parse(s.trim().substring(0, 10)).atStartOfDay(zone).toInstant());
        }

        void setPreload(String key, IAnswerData value, boolean recalculate) {
            TreeReference generic = form.preloads.get(key);
            if (generic == null) return;
            TreeReference ref = generic.clone();
            TreeElement e = fd.getMainInstance().resolveReference(ref);
            if (e == null) return;
            if (recalculate) {
                fd.setValue(value, e.getRef(), true);
            } else {
                e.setAnswer(value);
            }
        }

        TreeElement metaElement() {
            TreeElement root = fd.getMainInstance().getRoot();
            for (int i = 0; i < root.getNumChildren(); i++) {
                TreeElement c = root.getChildAt(i);
                if ("meta".equals(c.getName())) return c;
            }
            return null;
        }

        TreeElement instanceIdElement(TreeElement meta) {
            if (meta != null) {
                for (int i = 0; i < meta.getNumChildren(); i++) {
                    TreeElement c = meta.getChildAt(i);
                    if ("instanceID".equals(c.getName())) return c;
                }
            }
            TreeReference generic = form.preloads.get("uid/null");
            if (generic != null) {
                return fd.getMainInstance().resolveReference(generic.clone());
            }
            return null;
        }

        String valueOf(TreeElement e) {
            IAnswerData v = e.getValue();
            return v == null ? null : v.uncast().getString();
        }

        // -------------------------------------------------------------- the walk

        void walk() throws Exception {
            fec.jumpToIndex(FormIndex.createBeginningOfFormIndex());
            int events = 0;
            int ev;
            while ((ev = fec.stepToNextEvent()) != FormEntryController.EVENT_END_OF_FORM) {
                if (++events > MAX_EVENTS) {
                    throw new IllegalStateException("the walk did not end after " + MAX_EVENTS + " events");
                }
                switch (ev) {
                    case FormEntryController.EVENT_QUESTION:
                        question();
                        break;
                    case FormEntryController.EVENT_PROMPT_NEW_REPEAT: {
                        FormIndex idx = fem.getFormIndex();
                        FormEntryCaption c = fem.getCaptionPrompt(idx);
                        String name = idx.getReference().getNameLast();
                        if (Boolean.TRUE.equals(form.repeatCounted.get(name))) break;
                        int have = c.getMultiplicity();
                        if (have < wanted(name, idx)) {
                            fec.newRepeat();
                        }
                        break;
                    }
                    case FormEntryController.EVENT_REPEAT: {
                        FormIndex idx = fem.getFormIndex();
                        FormEntryCaption c = fem.getCaptionPrompt(idx);
                        String name = idx.getReference().getNameLast();
                        if (Boolean.TRUE.equals(form.repeatCounted.get(name))) break;
                        // pyxform pre-emits one instance: remove instances beyond the wanted count
                        if (c.getMultiplicity() >= wanted(name, idx)) {
                            fec.deleteRepeat(idx);
                            fec.jumpToIndex(fem.getFormIndex());
                        }
                        break;
                    }
                    default:
                        break;
                }
            }
        }

        /** Positions (0-based) of the enclosing repeat instances of idx, outermost first. */
        int[] repeatPositions(FormIndex idx, boolean excludeLast) {
            FormEntryCaption[] h = fem.getCaptionHierarchy(idx);
            List<Integer> pos = new ArrayList<>();
            int n = excludeLast ? h.length - 1 : h.length;
            for (int i = 0; i < n; i++) {
                if (h[i].repeats()) pos.add(h[i].getMultiplicity());
            }
            return pos.stream().mapToInt(Integer::intValue).toArray();
        }

        int wanted(String repeatName, FormIndex idx) {
            int[] outer = repeatPositions(idx, true);
            String key = repeatName + java.util.Arrays.toString(outer);
            Integer cached = counts.get(key);
            if (cached != null) return cached;
            int n;
            JsonNode given = repeats.get(repeatName);
            if (given != null && !given.isNull()) {
                if (given.isArray()) {
                    int p = outer.length == 0 ? 0 : outer[outer.length - 1];
                    n = p < given.size() ? given.get(p).asInt(0) : 0;
                } else {
                    n = given.asInt(0);
                }
            } else {
                n = defaultCount(repeatName, outer);
                if (n < 0) n = auto ? 1 + rng.nextInt(3) : 0;
            }
            counts.put(key, n);
            return n;
        }

        /** As many instances as the longest list of answers for questions inside; -1 if nothing says. */
        int defaultCount(String repeatName, int[] outer) {
            int best = -1;
            int j = outer.length; // level of this repeat in each question's chain
            for (Map.Entry<String, List<String>> e : form.repeatChain.entrySet()) {
                List<String> chain = e.getValue();
                if (chain.size() <= j || !chain.get(j).equals(repeatName)) continue;
                int d = chain.size();
                String q = e.getKey();
                JsonNode v = plain.get(q);
                if (v != null && !v.isNull()) {
                    if (v.isArray()) {
                        if (d >= 2 && firstIsArray(v)) {
                            JsonNode node = v;
                            for (int i = 0; i < j && node != null; i++) {
                                node = node.isArray() ? (outer[i] < node.size() ? node.get(outer[i]) : null) : node;
                            }
                            if (node != null && node.isArray()) best = Math.max(best, node.size());
                            else if (node != null && !node.isNull()) best = Math.max(best, 1);
                        } else if (j == d - 1) {
                            best = Math.max(best, v.size());
                        } else {
                            best = Math.max(best, 1);
                        }
                    } else {
                        best = Math.max(best, 1);
                    }
                }
                List<Map.Entry<int[], JsonNode>> ix = indexed.get(q);
                if (ix != null) {
                    for (Map.Entry<int[], JsonNode> x : ix) {
                        int[] k = x.getKey();
                        if (k.length == 1) {
                            best = Math.max(best, j == d - 1 ? k[0] : 1);
                        } else if (k.length == d) {
                            boolean match = true;
                            for (int i = 0; i < j; i++) {
                                if (k[i] - 1 != outer[i]) { match = false; break; }
                            }
                            if (match) best = Math.max(best, k[j]);
                        }
                    }
                }
            }
            return best;
        }

        boolean firstIsArray(JsonNode v) {
            for (JsonNode x : v) {
                if (x != null && !x.isNull()) return x.isArray();
            }
            return false;
        }

        String canonicalPath(TreeReference ref) {
            StringBuilder sb = new StringBuilder();
            StringBuilder generic = new StringBuilder();
            for (int i = 0; i < ref.size(); i++) {
                String n = ref.getName(i);
                generic.append('/').append(n);
                sb.append('/').append(n);
                if (form.repeatPaths.contains(generic.toString())) {
                    sb.append('[').append(ref.getMultiplicity(i) + 1).append(']');
                }
            }
            return sb.toString();
        }

        JsonNode lookup(String name, String path, int[] pos) {
            if (!byPath.isEmpty()) {
                JsonNode v = byPath.get(path);
                if (v != null) return v.isNull() ? null : v;
            }
            List<Map.Entry<int[], JsonNode>> ix = indexed.get(name);
            if (ix != null) {
                for (Map.Entry<int[], JsonNode> x : ix) {
                    int[] k = x.getKey();
                    boolean match;
                    if (k.length == pos.length) {
                        match = true;
                        for (int i = 0; i < k.length; i++) {
                            if (k[i] - 1 != pos[i]) { match = false; break; }
                        }
                    } else {
                        match = k.length == 1 && pos.length > 0 && k[0] - 1 == pos[pos.length - 1];
                    }
                    if (match) return x.getValue().isNull() ? null : x.getValue();
                }
            }
            JsonNode v = plain.get(name);
            if (v == null || v.isNull()) return null;
            if (!v.isArray() || pos.length == 0) return v;
            int d = pos.length;
            if (d >= 2 && firstIsArray(v)) {
                JsonNode node = v;
                for (int i = 0; i < d; i++) {
                    if (!node.isArray()) break;
                    node = pos[i] < node.size() ? node.get(pos[i]) : null;
                    if (node == null || node.isNull()) return null;
                }
                return node;
            }
            JsonNode item = pos[d - 1] < v.size() ? v.get(pos[d - 1]) : null;
            return item == null || item.isNull() ? null : item;
        }

        void question() throws Exception {
            FormIndex idx = fem.getFormIndex();
            FormEntryPrompt p = fem.getQuestionPrompt(idx);
            if (p.isReadOnly()) return;  // notes and read-only questions
            TreeReference ref = idx.getReference();
            String name = ref.getNameLast();
            // the indexed path and the repeat positions only when something needs them
            String path = byPath.isEmpty() ? null : canonicalPath(ref);
            int[] pos = form.namesInRepeats.contains(name) ? repeatPositions(idx, false) : NO_POSITIONS;
            JsonNode v = lookup(name, path, pos);
            if (v == null) {
                // auto mode keeps a default value that passes its constraint, as an enumerator would
                if (auto && (p.getAnswerValue() == null || !fd.evaluateConstraint(ref, p.getAnswerValue()))) {
                    autoAnswer(idx, p, name, canonicalPath(ref));
                } else if (!auto && p.isRequired() && p.getAnswerValue() == null) {
                    error("required", p, canonicalPath(ref), null, requiredText(p), null);
                }
                return;
            }
            String shown = v.isArray() ? joinArray(v) : v.asText();
            IAnswerData data;
            try {
                data = build(p, v);
            } catch (BadValue b) {
                error("bad_value", p, canonicalPath(ref), shown, b.getMessage(), b.allowed);
                return;
            }
            int r = answer(idx, p, ref, data);
            if (r == FormEntryController.ANSWER_OK && p.getQuestion().getDynamicChoices() != null
                    && form.staticItemset(p.getQuestion(), ref)) {
                chosen.add(ref);
            }
            if (r == FormEntryController.ANSWER_CONSTRAINT_VIOLATED) {
                error("constraint", p, canonicalPath(ref), shown, constraintText(p, data), null);
            } else if (r == FormEntryController.ANSWER_REQUIRED_BUT_EMPTY) {
                error("required", p, canonicalPath(ref), shown, requiredText(p), null);
            }
        }

        /**
         * FormEntryController.answerQuestion(idx, data, true), step for step: required, then the
         * constraint, then the commit, which is FormDef.setValue: FormDef.setAnswer and
         * triggerTriggerables (relevance, calculations, constraints downstream). What is left
         * out is only what setValue does for xforms-value-changed actions (it first finds the
         * question by a linear search over the whole form: a tenth of a fill on a 90-question
         * form) and a debug summary published to a silent notifier. A form with such actions,
         * or a complex (copy itemset) question, goes through answerQuestion itself.
         */
        int answer(FormIndex idx, FormEntryPrompt p, TreeReference ref, IAnswerData data) {
            if (form.valueChangedActions || p.getQuestion().isComplex()) {
                return fec.answerQuestion(idx, data, true);
            }
            TreeElement element = fd.getMainInstance().resolveReference(ref);
            if (element.isRequired() && data == null) {
                return FormEntryController.ANSWER_REQUIRED_BUT_EMPTY;
            }
            if (!fd.evaluateConstraint(ref, data)) {
                return FormEntryController.ANSWER_CONSTRAINT_VIOLATED;
            }
            if (data != null || element.getValue() != null) {
                fd.setAnswer(data, element);
                fd.triggerTriggerables(ref);
            }
            return FormEntryController.ANSWER_OK;
        }

        String joinArray(JsonNode v) {
            List<String> s = new ArrayList<>();
            for (JsonNode x : v) s.add(x.asText());
            return String.join(" ", s);
        }

        void error(String kind, FormEntryPrompt p, String path, String value, String message, List<String> allowed) {
            ObjectNode e = errors.addObject();
            e.put("kind", kind);
            e.put("question", p.getIndex().getReference().getNameLast());
            e.put("path", path);
            if (value == null) e.putNull("value"); else e.put("value", value);
            e.put("message", message);
            if (allowed != null) {
                ArrayNode a = e.putArray("allowed");
                for (String s : allowed) a.add(s);
            }
            String label = null;
            try {
                label = p.getQuestionText();
            } catch (Exception ignored) {
                // labels with broken output references are not the question
            }
            if (label != null) e.put("label", label);
            errorPaths.add(path);
        }

        String constraintText(FormEntryPrompt p, IAnswerData data) {
            String t = null;
            try {
                t = p.getConstraintText(data);
            } catch (Exception ignored) {
                // fall back to Collect's generic text
            }
            return t == null || t.isEmpty() ? DEFAULT_CONSTRAINT_MSG : t;
        }

        String requiredText(FormEntryPrompt p) {
            String t = null;
            try {
                t = p.getSpecialFormQuestionText("requiredMsg");
            } catch (Exception ignored) {
                // no itext form
            }
            if (t == null || t.isEmpty()) {
                try {
                    t = p.getQuestion() == null ? null : null;
                    TreeElement bindMsg = null;
                    for (TreeElement a : p.getBindAttributes()) {
                        if ("requiredMsg".equals(a.getName())) bindMsg = a;
                    }
                    if (bindMsg != null) t = bindMsg.getAttributeValue();
                } catch (Exception ignored) {
                    // keep the default
                }
            }
            return t == null || t.isEmpty() ? DEFAULT_REQUIRED_MSG : t;
        }

        // -------------------------------------------------------------- building answers

        List<String> choiceValues(List<SelectChoice> choices) {
            List<String> out = new ArrayList<>();
            for (SelectChoice c : choices) out.add(c.getValue());
            return out;
        }

        Selection pick(List<SelectChoice> choices, String value) throws BadValue {
            for (SelectChoice c : choices) {
                if (c.getValue().equals(value)) return c.selection();
            }
            List<String> allowed = choiceValues(choices);
            throw new BadValue("'" + value + "' is not among the allowed values: "
                + (allowed.isEmpty() ? "(no choice is available here)" : String.join(", ", allowed)), allowed);
        }

        List<String> items(JsonNode v) {
            List<String> out = new ArrayList<>();
            if (v.isArray()) {
                for (JsonNode x : v) {
                    if (x != null && !x.isNull()) out.add(x.asText());
                }
            } else {
                for (String s : v.asText().trim().split("\\s+")) {
                    if (!s.isEmpty()) out.add(s);
                }
            }
            return out;
        }

        /**
         * The question's choices. A static itemset's are computed once per parsed form: asking
         * JavaRosa again re-evaluates the nodeset and re-binds the current answer, which for a
         * fresh question (no answer yet, or one about to be replaced) changes nothing.
         */
        List<SelectChoice> choices(FormEntryPrompt p) {
            QuestionDef q = p.getQuestion();
            if (q.getDynamicChoices() == null || !form.staticItemset(q, p.getIndex().getReference())) {
                return p.getSelectChoices();
            }
            List<SelectChoice> known = form.staticChoices.get(q);
            if (known == null) {
                known = new ArrayList<>(p.getSelectChoices());
                form.staticChoices.put(q, known);
            }
            return known;
        }

        IAnswerData build(FormEntryPrompt p, JsonNode v) throws BadValue {
            int ct = p.getControlType();
            int dt = p.getDataType();
            if (!v.isArray() && v.asText().isEmpty()) {
                return null;  // an explicit empty answer clears the question
            }
            if (ct == Constants.CONTROL_SELECT_ONE) {
                List<String> it = items(v);
                String value = v.isArray() ? (it.isEmpty() ? "" : it.get(0)) : v.asText();
                if (v.isArray() && it.size() != 1) {
                    throw new BadValue("select_one takes one value, got " + it.size());
                }
                return new SelectOneData(pick(choices(p), value));
            }
            if (ct == Constants.CONTROL_SELECT_MULTI || ct == Constants.CONTROL_RANK) {
                List<SelectChoice> choices = choices(p);
                List<Selection> sel = new ArrayList<>();
                Set<String> seen = new HashSet<>();
                for (String s : items(v)) {
                    if (!seen.add(s)) throw new BadValue("'" + s + "' is given twice");
                    sel.add(pick(choices, s));
                }
                if (sel.isEmpty()) return null;
                return ct == Constants.CONTROL_RANK ? new MultipleItemsData(sel) : new SelectMultiData(sel);
            }
            if (v.isArray()) {
                throw new BadValue("a list is only allowed for select_multiple and rank questions "
                    + "or for one answer per repeat instance");
            }
            String s = v.asText().trim();
            switch (dt) {
                case Constants.DATATYPE_TEXT:
                case Constants.DATATYPE_BARCODE:
                case Constants.DATATYPE_BINARY:
                case Constants.DATATYPE_NULL:
                case Constants.DATATYPE_UNSUPPORTED:
                    return new StringData(v.asText());  // text keeps its spaces; files are stored by name
                case Constants.DATATYPE_INTEGER:
                case Constants.DATATYPE_LONG:
                    if (!s.matches("-?\\d+")) throw new BadValue("'" + s + "' is not a whole number");
                    break;
                case Constants.DATATYPE_DECIMAL:
                    try {
                        Double.parseDouble(s);
                    } catch (NumberFormatException e) {
                        throw new BadValue("'" + s + "' is not a number");
                    }
                    break;
                case Constants.DATATYPE_DATE:
                    if (!s.matches("\\d{4}-\\d{2}-\\d{2}")) throw new BadValue("'" + s + "' is not a date (YYYY-MM-DD)");
                    break;
                case Constants.DATATYPE_GEOPOINT: {
                    String[] parts = s.split("\\s+");
                    if (parts.length < 2 || parts.length > 4) {
                        throw new BadValue("'" + s + "' is not a geopoint ('lat lon alt acc')");
                    }
                    try {
                        double lat = Double.parseDouble(parts[0]);
                        double lon = Double.parseDouble(parts[1]);
                        if (Math.abs(lat) > 90 || Math.abs(lon) > 180) {
                            throw new BadValue("'" + s + "' is outside the Earth's latitude/longitude range");
                        }
                    } catch (NumberFormatException e) {
                        throw new BadValue("'" + s + "' is not a geopoint ('lat lon alt acc')");
                    }
                    break;
                }
                default:
                    break;
            }
            IAnswerData data;
            try {
                data = AnswerDataFactory.templateByDataType(dt).cast(new UncastData(s));
            } catch (Exception e) {
                throw new BadValue("'" + s + "' cannot be read as " + typeName(dt) + ": " + e.getMessage());
            }
            if (data == null) throw new BadValue("'" + s + "' cannot be read as " + typeName(dt));
            return data;
        }

        String typeName(int dt) {
            switch (dt) {
                case Constants.DATATYPE_INTEGER: return "integer";
                case Constants.DATATYPE_DECIMAL: return "decimal";
                case Constants.DATATYPE_DATE: return "date";
                case Constants.DATATYPE_TIME: return "time";
                case Constants.DATATYPE_DATE_TIME: return "dateTime";
                case Constants.DATATYPE_GEOPOINT: return "geopoint";
                case Constants.DATATYPE_GEOSHAPE: return "geoshape";
                case Constants.DATATYPE_GEOTRACE: return "geotrace";
                case Constants.DATATYPE_BOOLEAN: return "boolean";
                case Constants.DATATYPE_LONG: return "long integer";
                default: return "type " + dt;
            }
        }

        // -------------------------------------------------------------- auto answers

        String constraintXpath(FormIndex idx) {
            TreeElement e = fd.getMainInstance().resolveReference(idx.getReference());
            if (e == null) return null;
            Constraint c = e.getConstraint();
            if (c == null || !(c.constraint instanceof XPathConditional)) return null;
            return ((XPathConditional) c.constraint).xpath;
        }

        void autoAnswer(FormIndex idx, FormEntryPrompt p, String name, String path) throws Exception {
            int ct = p.getControlType();
            if (ct == Constants.CONTROL_TRIGGER) {
                fec.answerQuestion(idx, new StringData("OK"), true);
                return;
            }
            String xpath = constraintXpath(idx);
            IAnswerData last = null;
            String lastShown = null;
            for (int attempt = 0; attempt < 25; attempt++) {
                String value = generate(p, xpath, attempt);
                if (value == null) {
                    if (p.isRequired() && p.getAnswerValue() == null) {
                        error("required", p, path, null, requiredText(p) + " (no value could be generated)", null);
                    }
                    return;
                }
                IAnswerData data;
                try {
                    data = build(p, JSON.getNodeFactory().textNode(value));
                } catch (BadValue b) {
                    continue;
                }
                int r = fec.answerQuestion(idx, data, true);
                if (r == FormEntryController.ANSWER_OK) return;
                last = data;
                lastShown = value;
            }
            error("constraint", p, path, lastShown, constraintText(p, last) + " (auto mode found no valid value)", null);
        }

        double[] bounds(String xpath, boolean integer) {
            double lo = Double.NaN;
            double hi = Double.NaN;
            if (xpath == null) return new double[] {lo, hi};
            double eps = integer ? 1 : 0.01;
            Matcher m = DOT_CMP.matcher(xpath);
            while (m.find()) {
                double n = Double.parseDouble(m.group(2));
                switch (m.group(1)) {
                    case ">=": lo = n; break;
                    case ">": lo = n + eps; break;
                    case "<=": hi = n; break;
                    case "<": hi = n - eps; break;
                    default: lo = n; hi = n; break;
                }
            }
            m = CMP_DOT.matcher(xpath);
            while (m.find()) {
                double n = Double.parseDouble(m.group(1));
                switch (m.group(2)) {
                    case "<=": lo = n; break;
                    case "<": lo = n + eps; break;
                    case ">=": hi = n; break;
                    case ">": hi = n - eps; break;
                    default: break;
                }
            }
            return new double[] {lo, hi};
        }

        String generate(FormEntryPrompt p, String xpath, int attempt) {
            int ct = p.getControlType();
            int dt = p.getDataType();
            if (ct == Constants.CONTROL_SELECT_ONE) {
                List<SelectChoice> ch = p.getSelectChoices();
                if (ch == null || ch.isEmpty()) return null;
                return ch.get(rng.nextInt(ch.size())).getValue();
            }
            if (ct == Constants.CONTROL_SELECT_MULTI) {
                List<SelectChoice> ch = p.getSelectChoices();
                if (ch == null || ch.isEmpty()) return null;
                int max = Math.min(3, ch.size());
                if (xpath != null) {
                    Matcher m = COUNT_SELECTED_MAX.matcher(xpath);
                    if (m.find()) {
                        int k = Integer.parseInt(m.group(2)) - (m.group(1).equals("<") ? 1 : 0);
                        max = Math.max(1, Math.min(max, k));
                    }
                }
                int k = attempt > 3 ? 1 : 1 + rng.nextInt(max);
                List<SelectChoice> copy = new ArrayList<>(ch);
                Collections.shuffle(copy, rng);
                List<SelectChoice> chosen = new ArrayList<>(copy.subList(0, k));
                chosen.sort((a, b) -> Integer.compare(a.getIndex(), b.getIndex()));
                List<String> vals = choiceValues(chosen);
                return String.join(" ", vals);
            }
            if (ct == Constants.CONTROL_RANK) {
                List<SelectChoice> ch = p.getSelectChoices();
                if (ch == null || ch.isEmpty()) return null;
                List<SelectChoice> copy = new ArrayList<>(ch);
                Collections.shuffle(copy, rng);
                return String.join(" ", choiceValues(copy));
            }
            if (p.getQuestion() instanceof RangeQuestion) {
                RangeQuestion q = (RangeQuestion) p.getQuestion();
                java.math.BigDecimal a = q.getRangeStart();
                java.math.BigDecimal b = q.getRangeEnd();
                java.math.BigDecimal step = q.getRangeStep();
                if (a != null && b != null && step != null && step.signum() != 0) {
                    int steps = b.subtract(a).divide(step, java.math.RoundingMode.DOWN).abs().intValue();
                    java.math.BigDecimal v = a.add(step.multiply(java.math.BigDecimal.valueOf(rng.nextInt(steps + 1))));
                    return dt == Constants.DATATYPE_INTEGER ? String.valueOf(v.intValue()) : v.toPlainString();
                }
            }
            switch (dt) {
                case Constants.DATATYPE_INTEGER:
                case Constants.DATATYPE_LONG:
                case Constants.DATATYPE_DECIMAL: {
                    boolean integer = dt != Constants.DATATYPE_DECIMAL;
                    double[] b = bounds(xpath, integer);
                    double lo = b[0];
                    double hi = b[1];
                    if (attempt >= 10) {   // the constraint is not simple: widen the search
                        lo = Double.NaN;
                        hi = Double.NaN;
                    }
                    double span = attempt < 15 ? 20 : 1000;
                    if (Double.isNaN(lo) && Double.isNaN(hi)) { lo = 0; hi = span; }
                    else if (Double.isNaN(lo)) lo = hi >= 0 ? 0 : hi - span;
                    else if (Double.isNaN(hi)) hi = lo + span;
                    if (hi < lo) hi = lo;
                    if (integer) {
                        long l = (long) Math.ceil(lo);
                        long h = (long) Math.floor(hi);
                        if (h < l) h = l;
                        return String.valueOf(l + (long) (rng.nextDouble() * (h - l + 1)));
                    }
                    double x = lo + rng.nextDouble() * (hi - lo);
                    return String.valueOf(Math.round(x * 100) / 100.0);
                }
                case Constants.DATATYPE_DATE: {
                    LocalDate base = baseDay();
                    int days = rng.nextInt(attempt < 10 ? 365 : 365 * 60);
                    LocalDate d = (attempt % 2 == 1 && attempt > 4) ? base.plusDays(days) : base.minusDays(days);
                    return d.toString();
                }
                case Constants.DATATYPE_TIME:
                    return String.format("%02d:%02d:00", 8 + rng.nextInt(11), rng.nextInt(60));
                case Constants.DATATYPE_DATE_TIME: {
                    LocalDate base = baseDay().minusDays(rng.nextInt(30));
                    return base.atTime(8 + rng.nextInt(11), rng.nextInt(60)).atZone(zone).toOffsetDateTime().toString();
                }
                case Constants.DATATYPE_GEOPOINT:
                    return point();
                case Constants.DATATYPE_GEOTRACE:
                    return point() + ";" + point() + ";" + point();
                case Constants.DATATYPE_GEOSHAPE: {
                    String a = point();
                    return a + ";" + point() + ";" + point() + ";" + a;
                }
                case Constants.DATATYPE_BARCODE: {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < 12; i++) sb.append(rng.nextInt(10));
                    return sb.toString();
                }
                case Constants.DATATYPE_BOOLEAN:
                    return rng.nextBoolean() ? "true" : "false";
                case Constants.DATATYPE_BINARY:
                    return fileName(ct);
                default: {
                    if (ct == Constants.CONTROL_IMAGE_CHOOSE || ct == Constants.CONTROL_AUDIO_CAPTURE
                        || ct == Constants.CONTROL_VIDEO_CAPTURE || ct == Constants.CONTROL_FILE_CAPTURE
                        || ct == Constants.CONTROL_UPLOAD) {
                        return fileName(ct);
                    }
                    String w = WORDS[rng.nextInt(WORDS.length)];
                    return attempt < 5 ? w : w + " " + WORDS[rng.nextInt(WORDS.length)];
                }
            }
        }

        LocalDate baseDay() {
            if (today != null) return today.toInstant().atZone(zone).toLocalDate();
            return LocalDate.now(zone);
        }

        String point() {
            double lat = centerLat + (rng.nextDouble() - 0.5) * 0.1;
            double lon = centerLon + (rng.nextDouble() - 0.5) * 0.1;
            double alt = 700 + rng.nextInt(300);
            double acc = 3 + rng.nextInt(12);
            return String.format(java.util.Locale.ROOT, "%.6f %.6f %.1f %.1f", lat, lon, alt, acc);
        }

        String fileName(int ct) {
            String ext;
            switch (ct) {
                case Constants.CONTROL_AUDIO_CAPTURE: ext = "m4a"; break;
                case Constants.CONTROL_VIDEO_CAPTURE: ext = "mp4"; break;
                case Constants.CONTROL_FILE_CAPTURE: ext = "pdf"; break;
                default: ext = "jpg"; break;
            }
            // Collect names captured media by the capture time in milliseconds
            long millis = 1_700_000_000_000L + (long) (rng.nextDouble() * 100_000_000_000L);
            return millis + "." + ext;
        }
    }
}
